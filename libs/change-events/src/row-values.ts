import { LosslessNumber, parse } from 'lossless-json';
import { ChangeEventDecodeError } from './change-event.errors';
import type { ConnectSchema } from './connect-schema';
import { convertValue, type DocumentValue } from './value-converter';

/**
 * Reading a PostgreSQL row the way the indexer reads a change event, so verify uses the very
 * same conversion code (docs/values.md, "Document values"). Each column is selected in the wire
 * form Debezium emits for it under our connector settings (epoch days and microseconds, decimal
 * strings, base64, JSON text, ISO intervals, its sentinels for infinities) and goes through
 * `convertValue` with the Connect schema Debezium gives that column. Whatever the indexer does
 * with a value — including a rule still missing for an edge value — verify does too, so it never
 * reports drift that the indexer did not cause. Debezium's own divergences from PostgreSQL
 * (multi-dimensional arrays, timestamps past its range) do show, because the SQL here follows
 * PostgreSQL's values, not Debezium's defects.
 */

/** A column as the catalogue describes it (domains resolved to their base type). */
export interface RowColumn {
  name: string;
  /** Type name with domains resolved, e.g. `int8`, `timestamptz`, `_text`. */
  baseType: string;
  /** Element type name (domains resolved) for arrays, else null. */
  elementType: string | null;
  /** `atttypmod`: the n of bit(n), -1 when none. */
  typmod: number;
  /** `pg_type.typtype` of the base type (`c` composite, `m` multirange, …); `b` when omitted. */
  typtype?: string;
}

/**
 * Types Debezium's PostgreSQL connector leaves out of its change events (include.unknown.datatypes
 * is off): such a column is in no document, so verify leaves it out too. Checked against the
 * recorded events in row-values.spec.ts.
 */
const NOT_SENT_TYPES = new Set([
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'tsquery',
  'pg_lsn',
]);
const NOT_SENT_ELEMENT_TYPES = new Set(['interval']);

/** Why Debezium sends no value for this column, or null when it does. */
export function notSentByDebezium(column: RowColumn): string | null {
  const type = column.elementType ? `${column.elementType}[]` : column.baseType;
  if (column.typtype === 'c' || column.typtype === 'm' || NOT_SENT_TYPES.has(column.baseType)) {
    return `Debezium does not replicate columns of type ${type}`;
  }
  if (column.elementType && NOT_SENT_ELEMENT_TYPES.has(column.elementType)) {
    return `Debezium does not replicate columns of type ${type}`;
  }
  return null;
}

export type RowValueKind =
  | 'int'
  | 'numeric'
  | 'money'
  | 'float4'
  | 'float8'
  | 'bool'
  | 'bit1'
  | 'bits'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'timetz'
  | 'interval'
  | 'json'
  | 'bytea'
  | 'uuid'
  | 'point'
  | 'vector'
  | 'sparsevec'
  | 'hstore'
  | 'text';

/** How one column is selected, converted and compared. */
export interface RowColumnPlan {
  name: string;
  kind: RowValueKind;
  array: boolean;
  /** The Connect schema Debezium gives the column (the element's for arrays, in `items`). */
  schema: ConnectSchema;
}

const KIND_OF: Record<string, RowValueKind> = {
  int2: 'int',
  int4: 'int',
  int8: 'int',
  oid: 'int',
  numeric: 'numeric',
  money: 'money',
  float4: 'float4',
  float8: 'float8',
  bool: 'bool',
  bit: 'bits',
  varbit: 'bits',
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
  point: 'point',
  vector: 'vector',
  halfvec: 'vector',
  sparsevec: 'sparsevec',
  hstore: 'hstore',
};

/**
 * Debezium's wire values for ±infinity (PostgresValueConverter, recorded from Debezium 3.6 in
 * fixtures/row-values-probe.records.json): timestamps in microseconds, dates in epoch days.
 */
export const DEBEZIUM_TIMESTAMP_INFINITY_MICROS = '9223372036825200000';
export const DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MICROS = '-9223372036832400000';
export const DEBEZIUM_DATE_INFINITY_DAYS = '-2147472692';
export const DEBEZIUM_DATE_NEGATIVE_INFINITY_DAYS = '-2147472691';

function schemaOf(kind: RowValueKind, typmod: number): ConnectSchema {
  switch (kind) {
    case 'int':
      return { type: 'int64' };
    case 'float4':
      return { type: 'float' };
    case 'float8':
      return { type: 'double' };
    case 'bool':
    case 'bit1':
      return { type: 'boolean' };
    case 'bits':
      return {
        type: 'bytes',
        name: 'io.debezium.data.Bits',
        ...(typmod > 0 ? { parameters: { length: String(typmod) } } : {}),
      };
    case 'date':
      return { type: 'int32', name: 'io.debezium.time.Date' };
    case 'timestamp':
      // Debezium sends timestamp(0..3) as milliseconds; microseconds convert to the same text.
      return { type: 'int64', name: 'io.debezium.time.MicroTimestamp' };
    case 'timestamptz':
      return { type: 'string', name: 'io.debezium.time.ZonedTimestamp' };
    case 'time':
      return { type: 'int64', name: 'io.debezium.time.MicroTime' };
    case 'timetz':
      return { type: 'string', name: 'io.debezium.time.ZonedTime' };
    case 'interval':
      return { type: 'string', name: 'io.debezium.time.Interval' };
    case 'json':
    case 'hstore':
      return { type: 'string', name: 'io.debezium.data.Json' };
    case 'uuid':
      return { type: 'string', name: 'io.debezium.data.Uuid' };
    case 'point':
      return { type: 'struct', name: 'io.debezium.data.geometry.Point' };
    case 'vector':
      return { type: 'array', items: { type: 'double' } };
    case 'sparsevec':
      return { type: 'struct', name: 'io.debezium.data.SparseDoubleVector' };
    case 'numeric':
    case 'money':
    case 'bytea':
    case 'text':
      return { type: 'string' };
  }
}

/** The plan for one column: which wire form to select and which schema converts it. */
export function rowColumnPlan(column: RowColumn): RowColumnPlan {
  const array = column.elementType !== null;
  const kindOf = (type: string, typmod: number): RowValueKind => {
    const kind = KIND_OF[type] ?? 'text';
    // Debezium sends bit(1) as a boolean, longer bit strings as bytes.
    return kind === 'bits' && type === 'bit' && typmod === 1 ? 'bit1' : kind;
  };
  // As column.propagate.source.type gives it: the converter reads some rules from it.
  const source = { '__debezium.source.column.type': column.baseType.toUpperCase() };
  if (array) {
    const kind = kindOf(column.elementType ?? 'text', column.typmod);
    return {
      name: column.name,
      kind,
      array,
      schema: { type: 'array', parameters: source, items: schemaOf(kind, column.typmod) },
    };
  }
  const kind = kindOf(column.baseType, column.typmod);
  const schema = schemaOf(kind, column.typmod);
  return {
    name: column.name,
    kind,
    array,
    schema: { ...schema, parameters: { ...schema.parameters, ...source } },
  };
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Session settings the wire expressions rely on. */
export const ROW_SESSION_SETTINGS =
  "set datestyle = 'ISO, YMD'; set intervalstyle = 'postgres'; set timezone = 'UTC'; set extra_float_digits = 1; set bytea_output = 'hex'";

function scalarWire(kind: RowValueKind, x: string): string {
  switch (kind) {
    case 'int':
    case 'float4':
    case 'float8':
    case 'bool':
    case 'bit1':
    case 'bits':
    case 'json':
    case 'uuid':
    case 'point':
    case 'vector':
    case 'sparsevec':
      return `${x}::text`;
    case 'numeric':
      // Debezium's names for the special numeric values.
      return `case when ${x} = 'NaN' then 'NAN' when ${x} = 'Infinity' then 'POSITIVE_INFINITY' when ${x} = '-Infinity' then 'NEGATIVE_INFINITY' else ${x}::text end`;
    case 'money':
      return `${x}::numeric::text`;
    case 'date':
      return `case when ${x} = 'infinity' then '${DEBEZIUM_DATE_INFINITY_DAYS}' when ${x} = '-infinity' then '${DEBEZIUM_DATE_NEGATIVE_INFINITY_DAYS}' else (${x} - date '1970-01-01')::text end`;
    case 'timestamp':
      return `case when ${x} = 'infinity' then '${DEBEZIUM_TIMESTAMP_INFINITY_MICROS}' when ${x} = '-infinity' then '${DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MICROS}' else trunc(extract(epoch from ${x}) * 1000000)::text end`;
    case 'timestamptz': {
      // ISO 8601 in UTC as java.time prints it: astronomical years, `+` past 9999.
      const utc = `(${x} at time zone 'UTC')`;
      const year = `extract(year from ${utc})::int`;
      return `case when ${x} = 'infinity' then 'infinity' when ${x} = '-infinity' then '-infinity' else (case when ${year} < 0 then '-' || lpad((-${year} - 1)::text, 4, '0') when ${year} > 9999 then '+' || ${year}::text else lpad(${year}::text, 4, '0') end) || to_char(${utc}, '-MM-DD"T"HH24:MI:SS.US"Z"') end`;
    }
    case 'time':
      return `trunc(extract(epoch from ${x}) * 1000000)::text`;
    case 'timetz':
      return `((${x} at time zone 'UTC')::time)::text || 'Z'`;
    case 'interval':
      // Debezium's interval.handling.mode=string writes every component.
      return `case when ${x} is null then null else format('P%sY%sM%sDT%sH%sM%sS', extract(year from ${x}), extract(month from ${x}), extract(day from ${x}), extract(hour from ${x}), extract(minute from ${x}), trim_scale(extract(second from ${x}))) end`;
    case 'bytea':
      return `encode(${x}, 'hex')`;
    case 'hstore':
      // hstore.handling.mode=json: the hstore extension's cast to json.
      return `to_jsonb(${x})::text`;
    case 'text':
      // The type's output function; `::text` would change e.g. inet (adds /32) and char(n).
      return `case when ${x} is null then null else format('%s', ${x}) end`;
  }
}

/** The SQL expression selecting a column in its wire form, as text (arrays as a JSON array of texts). */
export function wireExpression(plan: RowColumnPlan, tableAlias?: string): string {
  const column = `${tableAlias ? `${tableAlias}.` : ''}${quoteIdent(plan.name)}`;
  if (!plan.array) return scalarWire(plan.kind, column);
  // Element by element in order; a multi-dimensional array comes out flat, as PostgreSQL's
  // unnest reads it (Debezium cannot send those at all, so verify reports them).
  return `case when ${column} is null then null else coalesce((select jsonb_agg(${scalarWire(plan.kind, 'e')} order by n) from unnest(${column}) with ordinality u(e, n)), '[]'::jsonb)::text end`;
}

/** Little-endian bytes of a bit string, base64: Debezium's io.debezium.data.Bits form. */
function bitsWire(bits: string): string {
  let value = bits === '' ? 0n : BigInt(`0b${bits}`);
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.push(Number(value & 0xffn));
    value >>= 8n;
  }
  return Buffer.from(bytes).toString('base64');
}

function pointWire(text: string): { x: LosslessNumber; y: LosslessNumber } {
  const match = /^\(([^,]+),([^)]+)\)$/.exec(text);
  if (!match) throw new ChangeEventDecodeError(`"${text}" is not a point`);
  return { x: new LosslessNumber(match[1]), y: new LosslessNumber(match[2]) };
}

/** pgvector's sparsevec text `{1:0.5,7:2}/10` as Debezium sends it: dimensions + index pairs. */
function sparseVectorWire(text: string): { dimensions: number; vector: [number, number][] } {
  const match = /^\{([^}]*)\}\/(\d+)$/.exec(text);
  if (!match) throw new ChangeEventDecodeError(`"${text}" is not a sparsevec`);
  const vector = match[1]
    .split(',')
    .filter((pair) => pair.length > 0)
    .map((pair): [number, number] => {
      const [index, value] = pair.split(':');
      return [Number(index), Number(value)];
    });
  return { dimensions: Number(match[2]), vector };
}

/** The wire value of one selected text, as Debezium's JSON converter would deliver it. */
function wireValue(kind: RowValueKind, text: string): unknown {
  switch (kind) {
    case 'int':
      return new LosslessNumber(text);
    case 'float4':
    case 'float8':
      // NaN and ±Infinity arrive as strings, every other value as a number.
      return /^-?(Infinity|NaN)$/.test(text) ? text : new LosslessNumber(text);
    case 'bool':
      return text === 't' || text === 'true';
    case 'bit1':
      return text === '1';
    case 'bits':
      return bitsWire(text);
    case 'bytea':
      return Buffer.from(text, 'hex').toString('base64');
    case 'point':
      return pointWire(text);
    case 'vector':
      return parse(text);
    case 'sparsevec':
      return sparseVectorWire(text);
    case 'numeric':
    case 'money':
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz':
    case 'interval':
    case 'json':
    case 'hstore':
    case 'uuid':
    case 'text':
      return text;
  }
}

/**
 * The document value the indexer writes for this column, from the text `wireExpression`
 * selected. Throws what the indexer's conversion throws for the same value.
 */
export function rowDocumentValue(plan: RowColumnPlan, text: string | null): DocumentValue {
  if (text === null) return null;
  if (!plan.array) return convertValue(plan.schema, wireValue(plan.kind, text), plan.name);
  const items = JSON.parse(text) as (string | null)[];
  const wire = items.map((item) => (item === null ? null : wireValue(plan.kind, item)));
  return convertValue(plan.schema, wire, plan.name);
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

/** A decimal's value regardless of notation and trailing zeros (`1249.00` = `1249.0`). */
function canonicalDecimal(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return text.trim().toUpperCase();
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

function canonicalFloat(value: unknown, single: boolean): string {
  const number = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'string' && Number.isNaN(number) && !/^nan$/i.test(value)) return value;
  return String(single ? Math.fround(number) : number);
}

/**
 * A duration's months, days and microseconds, whatever the notation: the engine may hand back a
 * value written by an earlier indexer in PostgreSQL's own ISO form (`P1Y2M3DT4H5M6.5S`, `PT0S`).
 */
function canonicalInterval(text: string): string {
  const match =
    /^(-)?P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?[\d.]+)S)?)?$/.exec(
      text.trim(),
    );
  if (!match) return text;
  const [, negate, y, mo, w, d, h, mi, s] = match;
  const sign = negate ? -1n : 1n;
  const months = (BigInt(y ?? 0) * 12n + BigInt(mo ?? 0)) * sign;
  const days = (BigInt(w ?? 0) * 7n + BigInt(d ?? 0)) * sign;
  const [whole, fraction = ''] = (s ?? '0').split('.');
  const secondsMicros =
    BigInt(whole.replace('-', '') || 0) * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
  const micros =
    (BigInt(h ?? 0) * 3_600_000_000n +
      BigInt(mi ?? 0) * 60_000_000n +
      (whole.startsWith('-') ? -secondsMicros : secondsMicros)) *
    sign;
  return `${months}m${days}d${micros}us`;
}

function canonicalScalar(kind: RowValueKind, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (kind) {
    case 'numeric':
    case 'money':
      return canonicalDecimal(typeof value === 'string' ? value : JSON.stringify(value));
    case 'float4':
      return canonicalFloat(value, true);
    case 'float8':
      return canonicalFloat(value, false);
    case 'interval':
      return typeof value === 'string' ? canonicalInterval(value) : stableJson(value);
    case 'vector':
      return Array.isArray(value)
        ? value.map((v) => String(Math.fround(Number(v)))).join(',')
        : stableJson(value);
    case 'int':
    case 'bool':
    case 'bit1':
    case 'bits':
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz':
    case 'json':
    case 'hstore':
    case 'bytea':
    case 'uuid':
    case 'point':
    case 'sparsevec':
    case 'text':
      return stableJson(value);
  }
}

/**
 * Whether a stored document value is the value of the row. Both sides come from the same
 * conversion, so this forgives only what the engine or an earlier writer may change without
 * changing the value: key order, decimal notation, float width, interval notation.
 */
export function sameDocumentValue(
  plan: RowColumnPlan,
  fromRow: DocumentValue,
  fromDocument: unknown,
): boolean {
  const canonical = (value: unknown): string => {
    if (plan.array && Array.isArray(value)) {
      return `[${value.map((item) => (Array.isArray(item) ? canonical(item) : canonicalScalar(plan.kind, item))).join(',')}]`;
    }
    return canonicalScalar(plan.kind, value);
  };
  return canonical(fromRow) === canonical(fromDocument);
}
