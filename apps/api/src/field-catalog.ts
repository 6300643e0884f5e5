import { epochMicrosToIso, timestampFilterBounds } from '@searchsync/change-events';
import { isColumnVisible, type TableSettings } from '@searchsync/config';
import type {
  FilterScalar,
  JsonObject,
  MappedField,
  VectorSimilarity,
} from '@searchsync/search-engine';
import { InvalidQueryError } from './api.errors';

export type FieldKind = 'text' | 'keyword' | 'integer' | 'number' | 'date' | 'boolean' | 'other';

export const FILTER_OPS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists', 'prefix'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

const INTEGER_BOUNDS: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  // Beyond ±2^53 a JS number is not exact anyway; the engine clamps nothing for us.
  long: [-9007199254740991, 9007199254740991],
  unsigned_long: [0, 9007199254740991],
};

const NUMBER_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const KEYWORD_TYPES = new Set(['keyword', 'constant_keyword']);

/** What a user may do with one field, and which engine path each use goes to. */
export interface FieldRule {
  name: string;
  type: string;
  kind: FieldKind;
  /** Path for exact matching, prefix, ranges, sort and terms (`name.keyword` for text). */
  exactPath?: string;
  /** The engine type behind `exactPath`. */
  exactKind?: Exclude<FieldKind, 'text' | 'other'>;
  /** Part of `q` and highlighting. */
  fullText: boolean;
  /**
   * Timestamps (a `date` with a keyword `exact`, docs/values.md): the canonical string with six
   * fraction digits. The date keeps milliseconds only; with this path filters, equality and
   * sorts are exact to the microsecond, for every year.
   */
  timestampPath?: string;
  /**
   * Where `exists` looks: the `exact` keyword when there is one, because the main field drops
   * values it cannot take (`infinity` for a date, `NaN` for a double) while the row has them.
   */
  existsPath: string;
  /**
   * Why the field is kept in `_source` only (json/jsonb as a disabled object, bytea): nothing
   * of it is indexed, so no filter — not even exists —, sort or aggregation could answer right.
   */
  storedOnly?: string;
  /**
   * A column indexed as a k-NN vector: `field` is the engine field of its vector copy. Only
   * `knn` searches it; it is no filter, sort, aggregation or highlight field (the column itself
   * is kept in `_source` as it is and indexed as nothing), but `fields` returns it.
   */
  vector?: { dims: number; similarity: VectorSimilarity; field: string };
}

const STORED_ONLY: Record<string, string> = {
  // A leaf `object` has no indexed sub-fields: our json/jsonb mapping (`enabled: false`).
  object: 'json/jsonb values are kept whole in _source and not indexed',
  binary: 'bytea values are kept as base64 in _source and not indexed',
};

export function fieldRule(field: MappedField): FieldRule {
  const exact = field.subFields.exact === 'keyword' ? `${field.name}.exact` : undefined;
  const base = { name: field.name, type: field.type, existsPath: exact ?? field.name };
  if (field.vector) {
    const { dims, similarity, field: copy } = field.vector;
    return { ...base, kind: 'other', fullText: false, vector: { dims, similarity, field: copy } };
  }
  if (field.type === 'text' || field.type === 'match_only_text') {
    const keyword = Object.entries(field.subFields).find(([, t]) => KEYWORD_TYPES.has(t));
    return {
      ...base,
      kind: 'text',
      fullText: true,
      ...(keyword ? { exactPath: `${field.name}.${keyword[0]}`, exactKind: 'keyword' } : {}),
    };
  }
  if (KEYWORD_TYPES.has(field.type))
    return {
      ...base,
      kind: 'keyword',
      fullText: true,
      exactPath: field.name,
      exactKind: 'keyword',
    };
  if (field.type in INTEGER_BOUNDS)
    return {
      ...base,
      kind: 'integer',
      fullText: false,
      exactPath: field.name,
      exactKind: 'integer',
    };
  if (NUMBER_TYPES.has(field.type))
    return { ...base, kind: 'number', fullText: false, exactPath: field.name, exactKind: 'number' };
  if (field.type === 'date' || field.type === 'date_nanos')
    return {
      ...base,
      kind: 'date',
      fullText: false,
      exactPath: field.name,
      exactKind: 'date',
      ...(field.type === 'date' && exact ? { timestampPath: exact } : {}),
    };
  if (field.type === 'boolean')
    return {
      ...base,
      kind: 'boolean',
      fullText: false,
      exactPath: field.name,
      exactKind: 'boolean',
    };
  const storedOnly = STORED_ONLY[field.type];
  return { ...base, kind: 'other', fullText: false, ...(storedOnly ? { storedOnly } : {}) };
}

/** The 400 for any search use of a field kept in `_source` only. */
export function storedOnlyError(rule: FieldRule, purpose: string): InvalidQueryError {
  return new InvalidQueryError(
    `${purpose}: field "${rule.name}" (${rule.type}) is stored but not searchable (${rule.storedOnly ?? 'not indexed'}), so it cannot be filtered, sorted or aggregated — exists included; read it with fields`,
  );
}

/** `8 dimensions, cosine` */
export function describeVector(vector: NonNullable<FieldRule['vector']>): string {
  return `${vector.dims} dimensions, ${vector.similarity}`;
}

/** The 400 for a filter, sort, aggregation or highlight on a vector column. */
export function vectorFieldError(rule: FieldRule, purpose: string): InvalidQueryError {
  const about = rule.vector ? ` (${describeVector(rule.vector)})` : '';
  return new InvalidQueryError(
    `${purpose}: field "${rule.name}" is a vector column${about}: it cannot be filtered, sorted, aggregated or highlighted — exists included; search it with knn: { "field": "${rule.name}", "vector": [...] }, read it with fields`,
  );
}

const MAX_STRING_VALUE = 1024;
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
const EPOCH_MILLIS = /^-?\d{1,15}$/;
const YEAR = /^([+-]?\d+)-/;
/**
 * Filter years beyond this are refused: the engine parses dates up to year 999999999 only (a
 * bound past it is an engine error, not an empty set), and PostgreSQL's timestamps end in 294276.
 */
const MAX_FILTER_YEAR = 999_999n;
const INFINITIES = new Set(['infinity', '-infinity']);
/** A UTC offset after a time; hours beyond 18 are no zone's (java.time refuses them too). */
const OFFSET = /[T ][^+-]*[+-](\d{2}):?(\d{2})?$/;

const DATE_EXPECTED =
  'an ISO 8601 date or timestamp (2024-01-31, 2024-01-31T12:00:00.123456Z: at most 6 fraction digits, an optional Z or ±hh:mm offset — none means UTC —, years before 0000 or after 9999 as -0043-03-15 or +12345-06-07) or epoch milliseconds';

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function badValue(rule: FieldRule, op: string, value: unknown, expected: string): never {
  throw new InvalidQueryError(
    `field "${rule.name}" (${rule.type}) needs ${expected} for "${op}", got ${describe(value)}`,
  );
}

type RangeOp = 'gt' | 'gte' | 'lt' | 'lte';

/**
 * A date/timestamp filter value as text `timestampFilterBounds` reads: epoch milliseconds
 * become their ISO form (zone-less, UTC). Undefined when it is neither.
 */
function temporalText(value: unknown): string | undefined {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && Math.abs(value) < 1e15
      ? epochMicrosToIso(BigInt(value) * 1000n, false)
      : undefined;
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const text = value.trim();
  return EPOCH_MILLIS.test(text) ? epochMicrosToIso(BigInt(text) * 1000n, false) : text;
}

/** The bound of `op` as the 26+-character canonical UTC string, or a 400 saying what to fix. */
function canonicalBound(
  rule: FieldRule,
  value: unknown,
  op: RangeOp,
  shownOp: string,
): { side: 'gte' | 'lt'; bound: string } {
  const text = temporalText(value);
  if (text !== undefined && INFINITIES.has(text.toLowerCase()))
    badValue(
      rule,
      shownOp,
      value,
      'a finite timestamp (infinity and -infinity match eq, ne and in)',
    );
  const year = text === undefined ? null : YEAR.exec(text);
  if (year && (BigInt(year[1]) > MAX_FILTER_YEAR || BigInt(year[1]) < -MAX_FILTER_YEAR))
    badValue(rule, shownOp, value, `a year from -${MAX_FILTER_YEAR} to +${MAX_FILTER_YEAR}`);
  const offset = text === undefined ? null : OFFSET.exec(text);
  if (offset && (Number(offset[1]) > 18 || Number(offset[2] ?? 0) > 59))
    badValue(rule, shownOp, value, 'a UTC offset from -18:00 to +18:00');
  const bounds = text === undefined ? null : timestampFilterBounds(text, op);
  if (bounds?.gte !== undefined) return { side: 'gte', bound: bounds.gte };
  if (bounds?.lt !== undefined) return { side: 'lt', bound: bounds.lt };
  return badValue(rule, shownOp, value, DATE_EXPECTED);
}

/** The canonical bound with its sub-millisecond digits; '000' when it is a whole millisecond. */
const subMillis = (bound: string) => bound.slice(-3);
const millisecond = (bound: string) => bound.slice(0, -3);

/** The first whole millisecond at or after a canonical bound. */
function ceilMillisecond(bound: string): string {
  if (subMillis(bound) === '000') return millisecond(bound);
  // The bound's millisecond plus 999 µs, plus one: the next millisecond, carries included.
  const next = timestampFilterBounds(`${millisecond(bound)}999`, 'gt');
  return millisecond(next?.gte ?? bound);
}

/**
 * A range bound on a timestamp field (date + exact string): the `gte`/`lt` strings of a
 * microsecond-exact `timestamp-range`.
 */
export function timestampRangeBounds(
  rule: FieldRule,
  value: unknown,
  op: RangeOp,
): { gte?: string; lt?: string } {
  const { side, bound } = canonicalBound(rule, value, op, op);
  return { [side]: bound };
}

/**
 * The exact strings a timestamp equals: the canonical form, and the same with `Z` — what a
 * timestamptz holds —, so the API need not know which of the two the column is. `infinity` and
 * `-infinity` are matched as they are stored.
 */
export function timestampTerms(rule: FieldRule, value: unknown, op: string): string[] {
  const text = temporalText(value);
  if (text !== undefined && INFINITIES.has(text.toLowerCase())) return [text.toLowerCase()];
  const { bound } = canonicalBound(rule, value, 'gte', op);
  return [bound, `${bound}Z`];
}

/**
 * A range bound on a date field that holds milliseconds (a `date` column, or an index made
 * before timestamps had their exact string). Its values lie on whole milliseconds, so
 * `v >= B` is `v >= ceil(B)` and `v < B` is `v < ceil(B)`: exact whatever digits B has, where
 * the engine would cut B down.
 */
export function millisecondRangeBound(
  rule: FieldRule,
  value: unknown,
  op: RangeOp,
): { op: RangeOp; value: FilterScalar } {
  if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 1e15)
    return { op, value };
  const { side, bound } = canonicalBound(rule, value, op, op);
  return { op: side, value: ceilMillisecond(bound) };
}

/**
 * A bound of a range aggregation on a date (`from` inclusive, `to` exclusive). The engine
 * buckets the millisecond date, so on a timestamp a bound inside a millisecond would be counted
 * wrong: it is refused rather than rounded.
 */
export function dateAggregationBound(
  rule: FieldRule,
  value: unknown,
  end: 'from' | 'to',
): FilterScalar {
  const op = end === 'from' ? 'gte' : 'lt';
  if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 1e15)
    return value;
  const { bound } = canonicalBound(rule, value, op, `range ${end}`);
  if (rule.timestampPath && subMillis(bound) !== '000')
    badValue(
      rule,
      `range ${end}`,
      value,
      'a bound on a whole millisecond (range aggregations count milliseconds; filter for microsecond bounds)',
    );
  return ceilMillisecond(bound);
}

/**
 * A filter or range value checked and converted for the field's exact path; anything that would
 * make the engine fail is a 400 naming the field.
 */
export function coerceValue(
  rule: FieldRule,
  kind: Exclude<FieldKind, 'text' | 'other'>,
  value: unknown,
  op: string,
): FilterScalar {
  const bad = (expected: string): never => {
    throw new InvalidQueryError(
      `field "${rule.name}" (${rule.type}) needs ${expected} for "${op}", got ${describe(value)}`,
    );
  };
  switch (kind) {
    case 'keyword': {
      if (typeof value === 'string') {
        if (value.length > MAX_STRING_VALUE)
          bad(`a string of at most ${MAX_STRING_VALUE} characters`);
        return value;
      }
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'boolean') return String(value);
      return bad('a string');
    }
    case 'integer':
    case 'number': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && NUMERIC.test(value.trim())) n = Number(value.trim());
      else return bad('a number');
      if (!Number.isFinite(n)) return bad('a finite number');
      if (kind === 'integer') {
        const [min, max] = INTEGER_BOUNDS[rule.type] ?? INTEGER_BOUNDS.long;
        const exactOp = op === 'eq' || op === 'ne' || op === 'in';
        if (exactOp && !Number.isInteger(n)) return bad('an integer');
        if (n < min || n > max) return bad(`a number from ${min} to ${max}`);
      } else if (Math.abs(n) > Number.MAX_VALUE) {
        return bad('a finite number');
      }
      return n;
    }
    case 'date': {
      // Equality on milliseconds: a value with finer digits can equal no stored value.
      if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 1e15)
        return value;
      const { bound } = canonicalBound(rule, value, 'gte', op);
      if (subMillis(bound) !== '000')
        return bad('a value to the millisecond (this field holds milliseconds)');
      return millisecond(bound);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return bad('true or false');
    }
  }
}

/** Whether a dotted field path of a table may be served. */
export type PathVisibility = (path: string) => boolean;

/** `a`, `a.b`, `a.b.c` for `a.b.c`. */
function dottedPrefixes(path: string): string[] {
  const parts = path.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/**
 * Whether a field path lies in a column searchsync.yaml lets the API serve. The column is one of
 * the path's prefixes — its first segment, or more when the column's own name holds a dot (the
 * engine maps `a.b` as an object) — so everything nested in a hidden column is hidden with it.
 */
export function isPathVisible(settings: TableSettings, path: string): boolean {
  const columns = dottedPrefixes(path);
  // An exclusion hides the path at any depth; an include list admits it through the prefix it names.
  return (
    !columns.some((column) => settings.exclude.includes(column)) &&
    columns.some((column) => isColumnVisible(settings, column))
  );
}

/**
 * A document without its hidden columns. Applied to every document served, whatever the query
 * projected: an index filled before a column was hidden still holds its values.
 */
export function visibleSource(source: JsonObject, visible: PathVisibility): JsonObject {
  const keys = Object.keys(source);
  if (keys.every(visible)) return source;
  return Object.fromEntries(keys.filter(visible).map((key) => [key, source[key]]));
}

/**
 * One table's servable fields by name, for validating every field a request names. Hidden fields
 * are left out entirely, so using one is the same 400 as a field that does not exist.
 */
export class FieldCatalog {
  private readonly rules = new Map<string, FieldRule>();
  /** Object paths (`address` for `address.city`), valid in projections. */
  private readonly objectPaths = new Set<string>();

  constructor(fields: MappedField[], visible: PathVisibility = () => true) {
    for (const field of fields) {
      if (!visible(field.name)) continue;
      this.rules.set(field.name, fieldRule(field));
      const parts = field.name.split('.');
      for (let i = 1; i < parts.length; i++) this.objectPaths.add(parts.slice(0, i).join('.'));
    }
  }

  get all(): FieldRule[] {
    return [...this.rules.values()];
  }

  get fullTextFields(): string[] {
    return this.all.filter((r) => r.fullText).map((r) => r.name);
  }

  get textFields(): string[] {
    return this.all.filter((r) => r.kind === 'text').map((r) => r.name);
  }

  /** The columns `knn` can search. */
  get vectorFields(): FieldRule[] {
    return this.all.filter((r) => r.vector !== undefined);
  }

  field(name: unknown, purpose: string): FieldRule {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidQueryError(`${purpose}: field must be a non-empty string`);
    const rule = this.rules.get(name);
    if (!rule) {
      const container = this.storedOnlyContainer(name);
      if (container)
        throw new InvalidQueryError(
          `${purpose}: "${describe(name).slice(1, -1)}" is inside field "${container.name}" (${container.type}), which is stored but not searchable (${container.storedOnly}); read it with fields`,
        );
      const known = [...this.rules.keys()].slice(0, 50).join(', ');
      throw new InvalidQueryError(
        `${purpose}: unknown field ${describe(name)}; fields of this table: ${known || '(none)'}`,
      );
    }
    return rule;
  }

  /** A projection entry: a field, an object holding fields, or a path inside a stored value. */
  isProjectable(name: string): boolean {
    return (
      this.rules.has(name) ||
      this.objectPaths.has(name) ||
      this.storedOnlyContainer(name) !== undefined
    );
  }

  /** The stored-only field (a json/jsonb value) that a dotted path points into, if any. */
  private storedOnlyContainer(name: string): FieldRule | undefined {
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const rule = this.rules.get(parts.slice(0, i).join('.'));
      if (rule?.storedOnly) return rule;
    }
    return undefined;
  }
}
