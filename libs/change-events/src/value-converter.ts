import { isLosslessNumber, parse } from 'lossless-json';
import type { ConnectSchema } from './connect-schema';
import { ChangeEventDecodeError } from './change-event.errors';

/** Values as they go into a search document: plain JSON, exact. */
export type DocumentValue =
  null | boolean | number | string | DocumentValue[] | { [key: string]: DocumentValue };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MICROS_PER_DAY = 86_400_000_000n;

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

/** bigint as a JSON number while it is exact, else as a decimal string — never rounded. */
export function exactInteger(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

function pad(value: bigint | number, width: number): string {
  return value.toString().padStart(width, '0');
}

/** Days since the epoch to `YYYY-MM-DD`, proleptic Gregorian, years outside 0..9999 signed. */
export function epochDaysToDate(days: number): string {
  const date = new Date(days * 86_400_000);
  return date.toISOString().slice(0, date.toISOString().indexOf('T'));
}

/** Microseconds since the epoch to ISO 8601 with six fractional digits. */
export function epochMicrosToIso(micros: bigint, withZone: boolean): string {
  let seconds = micros / 1_000_000n;
  let fraction = micros % 1_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000n;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString();
  const base = iso.slice(0, iso.lastIndexOf('.'));
  return `${base}.${pad(fraction, 6)}${withZone ? 'Z' : ''}`;
}

/** Microseconds since midnight to `HH:MM:SS[.ffffff]`. */
export function microsToTime(micros: bigint): string {
  const value = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const totalSeconds = value / 1_000_000n;
  const fraction = value % 1_000_000n;
  const clock = `${pad(totalSeconds / 3600n, 2)}:${pad((totalSeconds / 60n) % 60n, 2)}:${pad(totalSeconds % 60n, 2)}`;
  // 24:00:00 is a valid PostgreSQL time; Debezium sends it as a full day of microseconds.
  if (micros === MICROS_PER_DAY) return '24:00:00';
  return fraction === 0n ? clock : `${clock}.${pad(fraction, 6)}`;
}

/** A zoned timestamp string from Debezium to UTC `...Z`, keeping every fractional digit. */
export function zonedTimestampToUtc(text: string): string {
  const match =
    /^([+-]?\d{4,}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!match) return text;
  const [, day, clock, fraction = '', zone = 'Z'] = match;
  if (zone === 'Z') return `${day}T${clock}${fraction ? `.${fraction}` : ''}Z`;
  const utc = new Date(`${day}T${clock}${zone}`).toISOString();
  return `${utc.slice(0, utc.lastIndexOf('.'))}${fraction ? `.${fraction}` : ''}Z`;
}

function textOf(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  throw new ChangeEventDecodeError(`field "${field}": expected a string, got ${typeof value}`);
}

/**
 * json/jsonb as the JSON value itself, parsed losslessly: a number a double would round
 * (an integer beyond 2^53, or more than 15 significant digits) keeps its digits as a string,
 * the same rule as bigint columns.
 */
function parseJsonText(text: string, field: string): DocumentValue {
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch {
    throw new ChangeEventDecodeError(`field "${field}": invalid JSON text`);
  }
  return plainJson(parsed);
}

/** A PostgreSQL point as its text form `(x,y)`. */
function pointText(value: unknown, field: string): string {
  const point = value as { x?: unknown; y?: unknown };
  if (typeof point !== 'object' || point === null) {
    throw new ChangeEventDecodeError(`field "${field}": expected a point struct`);
  }
  return `(${numberText(point.x, field)},${numberText(point.y, field)})`;
}

/** Debezium sends bit strings as little-endian bytes (base64); PostgreSQL writes them MSB first. */
export function bitsText(base64: string, length: number): string {
  const bytes = Buffer.from(base64, 'base64');
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  const bits = value.toString(2);
  return length > 0 ? bits.padStart(length, '0') : bits;
}

function floatValue(value: unknown, field: string): number | string {
  if (typeof value === 'string') return value; // NaN / Infinity arrive as strings
  const parsed = Number(numberText(value, field));
  return Number.isFinite(parsed) ? parsed : String(parsed);
}

/** Debezium's stand-in for an unchanged TOASTed value (`unavailable.value.placeholder`). */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
const UNAVAILABLE_BASE64 = Buffer.from(UNAVAILABLE_VALUE).toString('base64');

/** True when a converted value is the unchanged-TOAST placeholder, in any of its shapes. */
export function isUnavailableValue(value: DocumentValue): boolean {
  if (value === UNAVAILABLE_VALUE || value === UNAVAILABLE_BASE64) return true;
  return Array.isArray(value) && value.length === 1 && isUnavailableValue(value[0]);
}

/**
 * Converts one field of a Debezium row to its document value, following the type rules of
 * ARCHITECTURE.md. The Debezium logical type name wins over the physical Connect type.
 */
export function convertValue(schema: ConnectSchema, value: unknown, field: string): DocumentValue {
  if (value === null || value === undefined) return null;
  // Kept as-is for the applier, which restores the stored value instead.
  if (value === UNAVAILABLE_VALUE || value === UNAVAILABLE_BASE64) return value;
  if (Array.isArray(value) && value.length === 1 && value[0] === UNAVAILABLE_VALUE)
    return [UNAVAILABLE_VALUE];
  switch (schema.name) {
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return epochDaysToDate(Number(integerValue(value, field)));
    case 'io.debezium.time.MicroTimestamp':
      return epochMicrosToIso(integerValue(value, field), false);
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
      return epochMicrosToIso(integerValue(value, field) * 1000n, false);
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
      return parseJsonText(textOf(value, field), field);
    case 'io.debezium.data.geometry.Point':
      return pointText(value, field);
    case 'io.debezium.data.Bits':
      return bitsText(textOf(value, field), Number(schema.parameters?.length ?? 0));
    case 'io.debezium.data.Uuid':
      return textOf(value, field).toLowerCase();
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
    case 'bytes':
      return typeof value === 'string' ? value : numberText(value, field);
    case 'array': {
      if (!Array.isArray(value)) {
        throw new ChangeEventDecodeError(`field "${field}": expected an array`);
      }
      const items = schema.items;
      return value.map((item) => (items ? convertValue(items, item, field) : plainJson(item)));
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
    out[name] = convertValue(fieldSchema, record[name], path ? `${path}.${name}` : name);
  }
  return out;
}

function significantDigits(text: string): number {
  return text
    .replace(/[eE].*$/, '')
    .replace(/[-+.]/g, '')
    .replace(/^0+/, '')
    .replace(/0+$/, '').length;
}

/** Lossless numbers to exact JSON values, for parts that carry no schema. */
export function plainJson(value: unknown): DocumentValue {
  if (value === null || value === undefined) return null;
  if (isLosslessNumber(value)) {
    const text = value.value;
    if (/^-?\d+$/.test(text)) return exactInteger(BigInt(text));
    const number = Number(text);
    return significantDigits(text) <= 15 ? number : text;
  }
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === 'object') {
    const out: { [key: string]: DocumentValue } = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      out[key] = plainJson(item);
    }
    return out;
  }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
