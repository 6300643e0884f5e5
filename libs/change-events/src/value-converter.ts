import { isLosslessNumber } from 'lossless-json';
import type { ConnectSchema } from './connect-schema';
import { ChangeEventDecodeError } from './change-event.errors';
import { exactInteger, jsonNumber, parseJsonText, setKey, type DocumentValue } from './json-text';
import {
  epochDaysToDate,
  epochMicrosToIso,
  epochMillisToIso,
  microsToTime,
  zonedTimestampToUtc,
} from './temporal';

export type { DocumentValue } from './json-text';
export { exactInteger, parseJsonText } from './json-text';
export {
  epochDaysToDate,
  epochMicrosToIso,
  microsToTime,
  timestampFilterBounds,
  zonedTimestampToUtc,
} from './temporal';

function numberText(value: unknown, field: string): string {
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new ChangeEventDecodeError(`field "${field}": expected a number, got ${typeof value}`);
}

function integerValue(value: unknown, field: string): bigint {
  const text = numberText(value, field);
  try {
    return BigInt(text);
  } catch {
    throw new ChangeEventDecodeError(`field "${field}": "${text}" is not an integer`);
  }
}

function textOf(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  throw new ChangeEventDecodeError(`field "${field}": expected a string, got ${typeof value}`);
}

/**
 * A double in PostgreSQL's float8 text form (shortest round-trip digits, exponent below 1e-4
 * and from 1e15, at least two exponent digits), e.g. `1e-07`, `1.2345678901234568e+17`.
 */
export function pgFloatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 15) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

/** A PostgreSQL point as its text form `(x,y)`. */
function pointText(value: unknown, field: string): string {
  const point = value as { x?: unknown; y?: unknown };
  if (typeof point !== 'object' || point === null) {
    throw new ChangeEventDecodeError(`field "${field}": expected a point struct`);
  }
  const coordinate = (v: unknown) => pgFloatText(Number(numberText(v, field)));
  return `(${coordinate(point.x)},${coordinate(point.y)})`;
}

/** The longest bit string PostgreSQL stores; varbit columns report 2147483647 as their length. */
const MAX_BIT_LENGTH = 83_886_080;

/**
 * Debezium sends bit strings as little-endian bytes (base64); PostgreSQL writes them MSB first.
 * `bit(n)` is padded to n; a varbit's leading zeros are not in the bytes and cannot be restored.
 */
export function bitsText(base64: string, length: number): string {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0 && !(length > 0 && length <= MAX_BIT_LENGTH)) return '';
  let bits = '';
  for (let i = bytes.length - 1; i >= 0; i--) bits += bytes[i].toString(2).padStart(8, '0');
  bits = bits.replace(/^0+(?=.)/, '');
  return length > 0 && length <= MAX_BIT_LENGTH ? bits.padStart(length, '0') : bits;
}

function floatValue(value: unknown, field: string): number | string {
  if (typeof value === 'string') return value; // NaN / Infinity arrive as strings
  const parsed = Number(numberText(value, field));
  // -0 becomes 0: JSON has no negative zero that survives a round trip through JSON.stringify.
  return Number.isFinite(parsed) ? parsed + 0 : String(parsed);
}

/** Debezium's spellings of numeric's special values (decimal.handling.mode=string). */
const NUMERIC_SPECIALS: Record<string, string> = {
  NAN: 'NaN',
  POSITIVE_INFINITY: 'Infinity',
  NEGATIVE_INFINITY: '-Infinity',
};

/**
 * hstore arrives as a JSON object text (hstore.handling.mode=json); the document holds
 * PostgreSQL's own text form, `"k"=>"v", "n"=>NULL`, pairs in hstore's order (key length, then
 * bytes), so it equals `hstore::text`.
 */
export function hstoreText(jsonText: string, field: string): string {
  const parsed = parseJsonText(jsonText, field);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ChangeEventDecodeError(`field "${field}": hstore is not a JSON object`);
  }
  const quote = (text: string) => `"${text.replace(/(["\\])/g, '\\$1')}"`;
  const keys = Object.keys(parsed).sort((a, b) => {
    const ab = Buffer.from(a);
    const bb = Buffer.from(b);
    return ab.length - bb.length || Buffer.compare(ab, bb);
  });
  return keys
    .map((key) => {
      const value = parsed[key];
      if (value === null) return `${quote(key)}=>NULL`;
      return `${quote(key)}=>${quote(typeof value === 'string' ? value : JSON.stringify(value))}`;
    })
    .join(', ');
}

/** Debezium's stand-in for an unchanged TOASTed value (`unavailable.value.placeholder`). */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
const UNAVAILABLE_BASE64 = Buffer.from(UNAVAILABLE_VALUE).toString('base64');
/** int[], bigint[] and date[] carry the placeholder's bytes as numbers. */
const UNAVAILABLE_CODES = [...Buffer.from(UNAVAILABLE_VALUE)].join(',');
/** uuid[] carries UUID.nameUUIDFromBytes(placeholder). */
const UNAVAILABLE_UUID = 'b68a35a7-17ad-35b3-af2a-ae46edb4545a';
const UNAVAILABLE_HSTORE = JSON.stringify({ [UNAVAILABLE_VALUE]: UNAVAILABLE_VALUE });

/**
 * True when a raw Debezium value is the unchanged-TOAST placeholder, in any of the shapes
 * Debezium 3.6 gives it per column type (recorded in fixtures/toast.records.json). Types that
 * get no placeholder (numeric[], float8[], bool[], timestamp[], …) arrive as null instead.
 */
function isRawPlaceholder(value: unknown): boolean {
  if (value === UNAVAILABLE_VALUE || value === UNAVAILABLE_BASE64 || value === UNAVAILABLE_HSTORE)
    return true;
  if (!Array.isArray(value)) return false;
  if (value.length === 1) {
    const only: unknown = value[0];
    return only === UNAVAILABLE_VALUE || only === UNAVAILABLE_BASE64 || only === UNAVAILABLE_UUID;
  }
  return (
    value.length === UNAVAILABLE_VALUE.length &&
    value.map((item) => (isLosslessNumber(item) ? item.value : String(item))).join(',') ===
      UNAVAILABLE_CODES
  );
}

/** True when a converted value is the unchanged-TOAST placeholder, in any of its shapes. */
export function isUnavailableValue(value: DocumentValue): boolean {
  if (value === UNAVAILABLE_VALUE || value === UNAVAILABLE_BASE64) return true;
  return Array.isArray(value) && value.length === 1 && isUnavailableValue(value[0]);
}

/** The PostgreSQL type Debezium propagates with `column.propagate.source.type`, lower case. */
export function sourceColumnType(schema: ConnectSchema): string | undefined {
  return schema.parameters?.['__debezium.source.column.type']?.toLowerCase();
}

/**
 * Converts one field of a Debezium row to its document value, following the value table in
 * docs/values.md (the "Document values" contract). The Debezium logical type name wins over
 * the physical Connect type. Never throws for a value Debezium can deliver from PostgreSQL;
 * it throws ChangeEventDecodeError only for records that do not match their own schema.
 */
export function convertValue(schema: ConnectSchema, value: unknown, field: string): DocumentValue {
  if (value === null || value === undefined) return null;
  // One marker for the applier, which restores the stored value instead.
  if (isRawPlaceholder(value)) return UNAVAILABLE_VALUE;
  return convertPresent(schema, value, field, sourceColumnType(schema));
}

/**
 * pgvector's sparsevec in its PostgreSQL text form (`{1:0.5,7:2}/10`, indices ascending), as
 * "other types" are: Debezium sends `{dimensions, vector}` whose map JsonConverter writes as
 * `[index, value]` pairs in no particular order.
 */
function sparseVectorText(value: unknown, field: string): string {
  const struct = value as { dimensions?: unknown; vector?: unknown } | null;
  const dimensions = Number(struct?.dimensions);
  const raw = struct?.vector;
  const pairs: [number, number][] = Array.isArray(raw)
    ? raw.map((pair) => {
        const [index, element] = pair as [unknown, unknown];
        return [Number(index), Number(element)];
      })
    : raw !== null && typeof raw === 'object'
      ? Object.entries(raw).map(([index, element]) => [Number(index), Number(element)])
      : [];
  if (!Number.isInteger(dimensions) || pairs.some(([index]) => !Number.isInteger(index))) {
    throw new ChangeEventDecodeError(`field "${field}": not a sparse vector`);
  }
  pairs.sort(([a], [b]) => a - b);
  return `{${pairs.map(([index, element]) => `${index}:${element}`).join(',')}}/${dimensions}`;
}

function convertPresent(
  schema: ConnectSchema,
  value: unknown,
  field: string,
  pgType: string | undefined,
): DocumentValue {
  switch (schema.name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return epochDaysToDate(integerValue(value, field));
    case 'io.debezium.time.MicroTimestamp':
      return epochMicrosToIso(integerValue(value, field), false);
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
      return epochMillisToIso(integerValue(value, field), false);
    case 'io.debezium.time.NanoTimestamp':
      return epochMicrosToIso(integerValue(value, field) / 1000n, false);
    case 'io.debezium.time.ZonedTimestamp':
      return zonedTimestampToUtc(textOf(value, field));
    case 'io.debezium.time.MicroTime':
      return microsToTime(integerValue(value, field));
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Time':
      return microsToTime(integerValue(value, field) * 1000n);
    case 'io.debezium.time.NanoTime':
      return microsToTime(integerValue(value, field) / 1000n);
    case 'io.debezium.data.Json':
      if (pgType?.replace(/^_/, '') === 'hstore') return hstoreText(textOf(value, field), field);
      return parseJsonText(textOf(value, field), field);
    case 'io.debezium.data.geometry.Point':
      return pointText(value, field);
    case 'io.debezium.data.Bits':
      // varbit reports its maximum length, not the value's: only bit(n) is padded.
      return bitsText(
        textOf(value, field),
        pgType === 'varbit' ? 0 : Number(schema.parameters?.length ?? 0),
      );
    case 'io.debezium.data.Uuid':
      return textOf(value, field).toLowerCase();
    // SparseVector: Debezium 3.0.0–3.0.7's name for the same struct.
    case 'io.debezium.data.SparseDoubleVector':
    case 'io.debezium.data.SparseVector':
      return sparseVectorText(value, field);
    case undefined:
    default:
      break;
  }
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return exactInteger(integerValue(value, field));
    case 'float':
    case 'double':
      return floatValue(value, field);
    case 'boolean':
      return Boolean(value);
    case 'string':
    case 'bytes': {
      const text = typeof value === 'string' ? value : numberText(value, field);
      if (pgType === 'numeric' || pgType === 'decimal' || pgType === '_numeric')
        return NUMERIC_SPECIALS[text] ?? text;
      return text;
    }
    case 'array': {
      if (!Array.isArray(value)) {
        throw new ChangeEventDecodeError(`field "${field}": expected an array`);
      }
      const items = schema.items;
      return value.map((item: unknown) => {
        if (item === null || item === undefined) return null;
        // Element schemas carry no source type: the array's own (`_numeric`) says it.
        return items ? convertPresent(items, item, field, pgType) : plainJson(item);
      });
    }
    case 'struct':
      return convertStruct(schema, value, field);
    case 'map':
      return plainJson(value);
    default:
      return plainJson(value);
  }
}

/** Converts a struct by its field schemas. */
export function convertStruct(
  schema: ConnectSchema,
  value: unknown,
  path: string,
): { [key: string]: DocumentValue } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChangeEventDecodeError(`field "${path}": expected a struct`);
  }
  const record = value as Record<string, unknown>;
  const out: { [key: string]: DocumentValue } = {};
  for (const fieldSchema of schema.fields ?? []) {
    const name = fieldSchema.field ?? '';
    setKey(out, name, convertValue(fieldSchema, record[name], path ? `${path}.${name}` : name));
  }
  return out;
}

/** Lossless numbers to exact JSON values, for parts that carry no schema. */
export function plainJson(value: unknown): DocumentValue {
  if (value === null || value === undefined) return null;
  if (isLosslessNumber(value)) return jsonNumber(value.value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === 'object') {
    const out: { [key: string]: DocumentValue } = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      setKey(out, key, plainJson(item));
    }
    return out;
  }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
