import { isLosslessNumber, parse as parseLossless } from 'lossless-json';

/**
 * How verify reads a PostgreSQL column and compares it with a search document: every column is
 * selected as text (arrays as `to_jsonb(col)::text`), turned into the document form the indexer
 * writes (ARCHITECTURE.md, "Document values"), and both sides are compared in a canonical form
 * that forgives only representation (fraction digits, key order, offset notation).
 */
export type ColumnKind =
  | 'int'
  | 'numeric'
  | 'float4'
  | 'float8'
  | 'bool'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'timetz'
  | 'interval'
  | 'json'
  | 'bytea'
  | 'uuid'
  | 'bpchar'
  | 'vector'
  | 'text';

export interface ColumnType {
  kind: ColumnKind;
  /** Arrays: the element kind, and `kind` is that of the element. */
  array: boolean;
}

export type DocValue = null | boolean | number | string | DocValue[] | { [key: string]: DocValue };

const KIND_OF: Record<string, ColumnKind> = {
  int2: 'int',
  int4: 'int',
  int8: 'int',
  oid: 'int',
  numeric: 'numeric',
  float4: 'float4',
  float8: 'float8',
  bool: 'bool',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  time: 'time',
  timetz: 'timetz',
  interval: 'interval',
  json: 'json',
  jsonb: 'json',
  bytea: 'bytea',
  uuid: 'uuid',
  bpchar: 'bpchar',
  vector: 'vector',
};

/** The kind of a column from its base type name (domains resolved) and array element name. */
export function columnType(baseType: string, elementType: string | null): ColumnType {
  if (elementType) return { kind: KIND_OF[elementType] ?? 'text', array: true };
  return { kind: KIND_OF[baseType] ?? 'text', array: false };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function exactInteger(text: string): number | string {
  const value = BigInt(text);
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

function isoTimestamp(text: string): string {
  // 2024-01-02 03:04:05.123456[+00] → 2024-01-02T03:04:05.123456
  const match = /^(\S+)[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(text);
  if (!match) return text;
  const [, day, clock, fraction = ''] = match;
  return `${day}T${clock}.${fraction.padEnd(6, '0')}`;
}

/** A PostgreSQL text value (session: DateStyle ISO, TimeZone UTC, bytea hex) to its document form. */
export function rowValueToDocument(text: string | null, type: ColumnType): DocValue {
  if (text === null) return null;
  if (type.array) {
    const parsed = parseLossless(text);
    const convert = (value: unknown): DocValue => {
      if (value === null) return null;
      if (Array.isArray(value)) return value.map(convert);
      const scalar = isLosslessNumber(value) ? value.value : (value as string | boolean);
      if (typeof scalar === 'boolean') return scalar;
      if (type.kind === 'json') return jsonValue(value);
      return rowValueToDocument(
        type.kind === 'bool' ? (scalar === 'true' ? 't' : 'f') : String(scalar),
        { kind: type.kind, array: false },
      );
    };
    return convert(parsed);
  }
  switch (type.kind) {
    case 'int':
      return exactInteger(text);
    case 'numeric':
      return text;
    case 'float4':
    case 'float8': {
      const value = Number(text);
      return Number.isFinite(value) ? value : text;
    }
    case 'bool':
      return text === 't' || text === 'true';
    case 'timestamp':
      return isoTimestamp(text);
    case 'timestamptz':
      return `${isoTimestamp(text)}Z`;
    case 'json':
      return JSON.parse(text) as DocValue;
    case 'bytea':
      return Buffer.from(text.replace(/^\\x/, ''), 'hex').toString('base64');
    case 'uuid':
      return text.toLowerCase();
    case 'vector':
      return JSON.parse(text) as DocValue;
    case 'date':
    case 'time':
    case 'timetz':
    case 'interval':
    case 'bpchar':
    case 'text':
      return text;
  }
}

function jsonValue(value: unknown): DocValue {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return value as DocValue;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function canonicalDecimal(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return text.trim();
  const [, sign, whole, fraction = '', exponent] = match;
  let digits = `${whole}${fraction}`;
  let point = whole.length + Number(exponent ?? 0);
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  return `${sign === '-' ? '-' : ''}0.${digits}e${point}`;
}

function fractionCanonical(clock: string, fraction: string | undefined): string {
  const digits = (fraction ?? '').replace(/0+$/, '');
  return digits ? `${clock}.${digits}` : clock;
}

function canonicalTimestamp(text: string, zoned: boolean): string {
  const match =
    /^([+-]?\d{4,}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      text.trim(),
    );
  if (!match) return text;
  const [, day, clock, fraction, zone] = match;
  if (!zoned || !zone || zone === 'Z' || /^[+-]00(:?00)?$/.test(zone)) {
    return `${day}T${fractionCanonical(clock, fraction)}`;
  }
  const normalizedZone =
    zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const utc = new Date(`${day}T${clock}${normalizedZone}`).toISOString();
  return `${utc.slice(0, 19)}${fractionCanonical('', fraction)}`;
}

function canonicalTime(text: string, zoned: boolean): string {
  const match =
    /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?$/.exec(
      text.trim(),
    );
  if (!match) return text;
  const [, h, m, s, fraction, zone] = match;
  let seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  if (zoned && zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(/:/g, '');
    const offset =
      (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60) *
      (zone.startsWith('-') ? -1 : 1);
    seconds = (((seconds - offset) % 86400) + 86400) % 86400;
  }
  return `${seconds}${fractionCanonical('', fraction)}`;
}

function canonicalInterval(text: string): string {
  const match =
    /^(-)?P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?[\d.]+)S)?)?$/.exec(
      text.trim(),
    );
  if (!match) return text;
  const [, negate, y, mo, w, d, h, mi, s] = match;
  const sign = negate ? -1 : 1;
  const months = (Number(y ?? 0) * 12 + Number(mo ?? 0)) * sign;
  const days = (Number(w ?? 0) * 7 + Number(d ?? 0)) * sign;
  const micros =
    (Number(h ?? 0) * 3600e6 + Number(mi ?? 0) * 60e6 + Math.round(Number(s ?? 0) * 1e6)) * sign;
  return `${months}m${days}d${micros}us`;
}

/** The comparable form of a value of this column, from either side. */
export function canonical(value: unknown, type: ColumnType): string {
  if (value === null || value === undefined) return 'null';
  if (type.array && Array.isArray(value)) {
    return `[${value.map((item) => canonical(item, { kind: type.kind, array: Array.isArray(item) })).join(',')}]`;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  switch (type.kind) {
    case 'int':
      return /^-?\d+$/.test(text) ? BigInt(text).toString() : text;
    case 'numeric':
      return canonicalDecimal(text);
    case 'float4':
      return typeof value === 'number' ? String(Math.fround(value)) : canonicalFloat(text, true);
    case 'float8':
      return typeof value === 'number' ? String(value) : canonicalFloat(text, false);
    case 'bool':
      return String(value === true || value === 't' || value === 'true');
    case 'timestamp':
      return canonicalTimestamp(text, false);
    case 'timestamptz':
      return canonicalTimestamp(text, true);
    case 'time':
      return canonicalTime(text, false);
    case 'timetz':
      return canonicalTime(text, true);
    case 'interval':
      return canonicalInterval(text);
    case 'json':
      return stableJson(value);
    case 'vector':
      return Array.isArray(value)
        ? value.map((v) => String(Math.fround(Number(v)))).join(',')
        : text;
    case 'uuid':
      return text.toLowerCase();
    case 'bpchar':
      return text.replace(/ +$/, '');
    case 'date':
    case 'bytea':
    case 'text':
      return typeof value === 'string' ? value : stableJson(value);
  }
}

function canonicalFloat(text: string, single: boolean): string {
  const value = Number(text);
  if (Number.isNaN(value) && !/^nan$/i.test(text.trim())) return text;
  return String(single ? Math.fround(value) : value);
}

/** Document `_id` from key values in key order (the indexer's rule). */
export function documentIdOf(values: DocValue[]): string {
  if (values.length === 1) {
    const [only] = values;
    return typeof only === 'string' ? only : JSON.stringify(only);
  }
  return JSON.stringify(values);
}
