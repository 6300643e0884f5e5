import type {
  EngineAggregation,
  EngineFilter,
  EngineKnn,
  EngineSort,
  FilterScalar,
} from '@searchsync/search-engine';
import { FLOAT32_MAX } from '@searchsync/search-engine';
import { z } from 'zod';
import { InvalidQueryError } from './api.errors';
import {
  coerceValue,
  dateAggregationBound,
  describeVector,
  FILTER_OPS,
  millisecondRangeBound,
  storedOnlyError,
  timestampRangeBounds,
  timestampTerms,
  vectorFieldError,
  type FieldCatalog,
  type FieldRule,
} from './field-catalog';

export const MAX_SIZE = 1000;
export const DEFAULT_SIZE = 20;
export const MAX_Q_LENGTH = 1024;
const MAX_FILTERS = 50;
const MAX_IN_VALUES = 1000;
const MAX_SORT = 5;
const MAX_FIELDS = 100;
const MAX_AGGREGATIONS = 20;
export const MAX_TERMS_BUCKETS = 100;
export const DEFAULT_TERMS_BUCKETS = 10;
/**
 * A histogram returns every non-empty bucket up to its `size`, which defaults to this hard cap;
 * buckets beyond it are never dropped silently: the answer says `truncated` and counts them.
 * Well under the engine's own per-request limit (search.max_buckets, 65,535), past which the
 * engine refuses the request (400).
 */
export const MAX_HISTOGRAM_BUCKETS = 10_000;

/** `knn.k` when not given; also the default `size` of a knn search. */
export const DEFAULT_KNN_K = 10;
export const MAX_KNN_K = 1000;
/** Engines refuse more candidates than this (Elasticsearch's num_candidates limit). */
export const MAX_KNN_CANDIDATES = 10_000;
const MIN_DEFAULT_KNN_CANDIDATES = 100;
/** OpenSearch's largest knn_vector; the dimension check against the field says the rest. */
const MAX_KNN_DIMS = 16_000;

/**
 * Candidates each shard's graph search considers when the request names none: ten per
 * neighbour asked for, at least 100 (recall stays high for small k), at most 10,000.
 */
export function defaultNumCandidates(k: number): number {
  return Math.min(Math.max(k * 10, MIN_DEFAULT_KNN_CANDIDATES), MAX_KNN_CANDIDATES);
}

const CALENDAR_INTERVALS: Record<string, string> = {
  minute: '1m',
  hour: '1h',
  day: '1d',
  week: '1w',
  month: '1M',
  quarter: '1q',
  year: '1y',
};
const FIXED_INTERVAL = /^[1-9]\d{0,5}(ms|s|m|h|d)$/;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const filterSchema = z
  .object({
    field: z.string().min(1).max(256),
    op: z.enum(FILTER_OPS),
    value: z.union([scalar, z.array(scalar).max(MAX_IN_VALUES)]).optional(),
  })
  .strict();

const sortSchema = z
  .object({ field: z.string().min(1).max(256), order: z.enum(['asc', 'desc']).default('asc') })
  .strict();

const rangeSchema = z
  .object({
    key: z.string().max(128).optional(),
    from: z.union([z.number(), z.string().max(64)]).optional(),
    to: z.union([z.number(), z.string().max(64)]).optional(),
  })
  .strict();

const aggregationSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only (1-64 characters)'),
    type: z.enum(['terms', 'range', 'histogram', 'date_histogram', 'stats', 'cardinality']),
    field: z.string().min(1).max(256),
    size: z.number().int().min(1).max(MAX_HISTOGRAM_BUCKETS).optional(),
    interval: z.union([z.number(), z.string().max(32)]).optional(),
    ranges: z.array(rangeSchema).min(1).max(50).optional(),
  })
  .strict();

function integerFrom1(max: number, more: string) {
  const error = `must be an integer from 1 to ${max}${more}`;
  return z.number({ error }).int(error).min(1, error).max(max, error);
}

const knnSchema = z
  .object({
    field: z.string().min(1).max(256),
    vector: z
      .array(z.number({ error: 'must be a finite number' }), {
        error: 'must be an array of numbers (the query embedding)',
      })
      .min(1, 'must hold at least one number')
      .max(MAX_KNN_DIMS, `must hold at most ${MAX_KNN_DIMS} numbers`),
    // Defaults (k 10, numCandidates from k) are applied in compileSearch.
    k: integerFrom1(MAX_KNN_K, ` (default ${DEFAULT_KNN_K})`).optional(),
    numCandidates: integerFrom1(MAX_KNN_CANDIDATES, ', at least k').optional(),
    filters: z.array(filterSchema).max(MAX_FILTERS).optional(),
  })
  .strict();

/** The POST body of a table search. */
export const searchBodySchema = z
  .object({
    q: z.string().max(MAX_Q_LENGTH).optional(),
    filters: z.array(filterSchema).max(MAX_FILTERS).optional(),
    sort: z.array(sortSchema).max(MAX_SORT).optional(),
    // 0 asks for aggregations only (checked in parseSearchBody).
    size: z.number().int().min(0).max(MAX_SIZE).optional(),
    cursor: z.string().max(4096).nullable().optional(),
    fields: z.array(z.string().min(1).max(256)).max(MAX_FIELDS).optional(),
    highlight: z
      .union([
        z.boolean(),
        z
          .object({ fields: z.array(z.string().min(1).max(256)).max(MAX_FIELDS).optional() })
          .strict(),
      ])
      .optional(),
    aggregations: z.array(aggregationSchema).max(MAX_AGGREGATIONS).optional(),
    knn: knnSchema.optional(),
  })
  .strict();

export type SearchSpec = z.infer<typeof searchBodySchema>;
type FilterSpec = z.infer<typeof filterSchema>;
type AggregationSpec = z.infer<typeof aggregationSchema>;
type KnnSpec = z.infer<typeof knnSchema>;

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

/** Validates a POST body; every problem is a 400 naming the place. */
export function parseSearchBody(body: unknown): SearchSpec {
  if (body === undefined || body === null) return {};
  const parsed = searchBodySchema.safeParse(body);
  if (!parsed.success) throw new InvalidQueryError(zodMessage(parsed.error));
  const spec = parsed.data;
  if (spec.size === 0) {
    if (!spec.aggregations?.length)
      throw new InvalidQueryError(
        'size: 0 asks for aggregations only and needs at least one aggregation; use a size from 1 to 1000 for hits',
      );
    // A page of no hits has no position to continue from.
    if (spec.cursor)
      throw new InvalidQueryError('cursor: does not apply to size 0 (aggregations only)');
  }
  return spec;
}

type QueryValue = string | string[] | undefined;
export type RawQuery = Record<string, unknown>;

function single(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidQueryError(`${name} may be given once`);
  return value;
}

function repeated(query: RawQuery, name: string): string[] {
  const value = query[name] as QueryValue | Record<string, unknown>;
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new InvalidQueryError(`${name} must be plain repeatable text parameters`);
}

/** A query-string size; these forms take no aggregations, so 0 (aggregations only) is refused. */
export function parseSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_SIZE;
  if (!/^\d{1,7}$/.test(raw.trim()))
    throw new InvalidQueryError('size must be an integer from 1 to 1000');
  const size = Number(raw.trim());
  if (size === 0)
    throw new InvalidQueryError(
      'size must be an integer from 1 to 1000; size 0 (aggregations only) needs aggregations, which only POST /v1/tables/{table}/search takes',
    );
  if (size < 1 || size > MAX_SIZE)
    throw new InvalidQueryError('size must be an integer from 1 to 1000');
  return size;
}

function parseBoolean(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InvalidQueryError(`${name} must be true or false`);
}

function rejectUnknown(query: RawQuery, allowed: string[]): void {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new InvalidQueryError(
      `unknown query parameter ${JSON.stringify(unknown[0].slice(0, 64))}; allowed: ${allowed.join(', ')}`,
    );
}

/** `GET .../search?q=&filter=field:op:value&sort=field:order&size=&cursor=&fields=&highlight=`. */
export function parseSearchQuery(query: RawQuery): SearchSpec {
  if (query.knn !== undefined)
    throw new InvalidQueryError(
      'knn: the GET form takes no knn; send it in the JSON body of POST /v1/tables/{table}/search: { "knn": { "field", "vector", "k" } }',
    );
  rejectUnknown(query, ['q', 'filter', 'sort', 'size', 'cursor', 'fields', 'highlight']);
  const q = single(query, 'q');
  if (q !== undefined && q.length > MAX_Q_LENGTH)
    throw new InvalidQueryError(`q must be at most ${MAX_Q_LENGTH} characters`);
  const filters = repeated(query, 'filter').map((raw): FilterSpec => {
    const first = raw.indexOf(':');
    if (first <= 0)
      throw new InvalidQueryError(
        `filter ${JSON.stringify(raw.slice(0, 64))} must be field:op:value (op one of ${FILTER_OPS.join(', ')})`,
      );
    const second = raw.indexOf(':', first + 1);
    const field = raw.slice(0, first);
    const op = second < 0 ? raw.slice(first + 1) : raw.slice(first + 1, second);
    const value = second < 0 ? undefined : raw.slice(second + 1);
    if (!(FILTER_OPS as readonly string[]).includes(op))
      throw new InvalidQueryError(
        `filter on "${field.slice(0, 64)}": unknown operator ${JSON.stringify(op.slice(0, 32))}; use one of ${FILTER_OPS.join(', ')}`,
      );
    const typedOp = op as FilterSpec['op'];
    if (typedOp === 'in')
      return { field, op: typedOp, value: value === undefined ? [] : value.split(',') };
    return { field, op: typedOp, value };
  });
  if (filters.length > MAX_FILTERS) throw new InvalidQueryError(`at most ${MAX_FILTERS} filters`);
  const sort = repeated(query, 'sort').map((raw): { field: string; order: 'asc' | 'desc' } => {
    const colon = raw.lastIndexOf(':');
    const field = colon < 0 ? raw : raw.slice(0, colon);
    const order = colon < 0 ? 'asc' : raw.slice(colon + 1);
    if (order !== 'asc' && order !== 'desc')
      throw new InvalidQueryError(
        `sort ${JSON.stringify(raw.slice(0, 64))} must be field:asc or field:desc`,
      );
    return { field, order };
  });
  if (sort.length > MAX_SORT) throw new InvalidQueryError(`at most ${MAX_SORT} sort fields`);
  const fields = repeated(query, 'fields')
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
  if (fields.length > MAX_FIELDS) throw new InvalidQueryError(`at most ${MAX_FIELDS} fields`);
  const highlight = parseBoolean('highlight', single(query, 'highlight'));
  return {
    q,
    filters,
    sort,
    size: parseSize(single(query, 'size')),
    cursor: single(query, 'cursor'),
    ...(fields.length ? { fields } : {}),
    ...(highlight !== undefined ? { highlight } : {}),
  };
}

function exactRule(rule: FieldRule, purpose: string) {
  if (rule.storedOnly) throw storedOnlyError(rule, purpose);
  if (!rule.exactPath || !rule.exactKind) {
    throw new InvalidQueryError(
      `${purpose}: field "${rule.name}" (${rule.type}) supports only the exists operator`,
    );
  }
  return { path: rule.exactPath, kind: rule.exactKind };
}

/** One filter of the request; a timestamp `ne` needs two engine filters (see timestampTerms). */
function compileFilter(catalog: FieldCatalog, filter: FilterSpec): EngineFilter[] {
  const purpose = `filter ${filter.op}`;
  const rule = catalog.field(filter.field, purpose);
  const { op, value } = filter;
  if (rule.vector) throw vectorFieldError(rule, purpose);
  if (rule.storedOnly) throw storedOnlyError(rule, purpose);
  if (op === 'exists') {
    let negate = false;
    if (value !== undefined && value !== '') {
      if (value === true || value === 'true') negate = false;
      else if (value === false || value === 'false') negate = true;
      else
        throw new InvalidQueryError(`filter exists on "${rule.name}": value must be true or false`);
    }
    return [{ kind: 'exists', field: rule.existsPath, negate }];
  }
  if (rule.kind === 'text' && !rule.exactPath) {
    throw new InvalidQueryError(
      `filter ${op}: field "${rule.name}" is full-text only; search it with q`,
    );
  }
  const { path, kind } = exactRule(rule, `filter ${op}`);
  if (value === undefined)
    throw new InvalidQueryError(`filter ${op} on "${rule.name}" needs a value`);
  const timestamp = rule.timestampPath;
  switch (op) {
    case 'eq':
    case 'ne': {
      if (Array.isArray(value))
        throw new InvalidQueryError(
          `filter ${op} on "${rule.name}" takes one value; use in for several`,
        );
      if (timestamp) {
        const values = timestampTerms(rule, value, op);
        return op === 'eq'
          ? [{ kind: 'terms', field: timestamp, values }]
          : values.map((v) => ({ kind: 'term', field: timestamp, value: v, negate: true }));
      }
      return [
        {
          kind: 'term',
          field: path,
          value: coerceValue(rule, kind, value, op),
          negate: op === 'ne',
        },
      ];
    }
    case 'in': {
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.length > MAX_IN_VALUES)
        throw new InvalidQueryError(
          `filter in on "${rule.name}" takes 1 to ${MAX_IN_VALUES} values`,
        );
      if (timestamp)
        return [
          {
            kind: 'terms',
            field: timestamp,
            values: [...new Set(values.flatMap((v) => timestampTerms(rule, v, op)))],
          },
        ];
      return [
        {
          kind: 'terms',
          field: path,
          values: values.map((v) => coerceValue(rule, kind, v, op)),
        },
      ];
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (Array.isArray(value))
        throw new InvalidQueryError(`filter ${op} on "${rule.name}" takes one value`);
      if (kind === 'boolean')
        throw new InvalidQueryError(`filter ${op}: field "${rule.name}" is boolean; use eq`);
      if (timestamp)
        return [
          {
            kind: 'timestamp-range',
            field: path,
            exactField: timestamp,
            ...timestampRangeBounds(rule, value, op),
          },
        ];
      if (kind === 'date') {
        const bound = millisecondRangeBound(rule, value, op);
        return [{ kind: 'range', field: path, [bound.op]: bound.value }];
      }
      return [{ kind: 'range', field: path, [op]: coerceValue(rule, kind, value, op) }];
    }
    case 'prefix': {
      if (kind !== 'keyword')
        throw new InvalidQueryError(
          `filter prefix: field "${rule.name}" (${rule.type}) is not a string field`,
        );
      if (typeof value !== 'string' || value.length === 0 || value.length > 256)
        throw new InvalidQueryError(
          `filter prefix on "${rule.name}" needs a string of 1 to 256 characters`,
        );
      return [{ kind: 'prefix', field: path, value }];
    }
  }
}

/** A sort key; a timestamp sorts by its millisecond, then exactly within it. */
function compileSort(
  catalog: FieldCatalog,
  spec: { field: string; order: 'asc' | 'desc' },
): EngineSort[] {
  if (spec.field === '_score') return [{ field: '_score', order: spec.order }];
  const rule = catalog.field(spec.field, 'sort');
  if (rule.vector) throw vectorFieldError(rule, 'sort');
  if (rule.storedOnly) throw storedOnlyError(rule, 'sort');
  if (!rule.exactPath)
    throw new InvalidQueryError(`sort: field "${rule.name}" (${rule.type}) is not sortable`);
  const sort: EngineSort[] = [{ field: rule.exactPath, order: spec.order }];
  if (rule.timestampPath) sort.push({ field: rule.timestampPath, order: spec.order });
  return sort;
}

function numericOrDate(rule: FieldRule, what: string): 'integer' | 'number' | 'date' {
  if (rule.storedOnly) throw storedOnlyError(rule, what);
  if (rule.exactKind === 'integer' || rule.exactKind === 'number' || rule.exactKind === 'date')
    return rule.exactKind;
  throw new InvalidQueryError(
    `${what}: field "${rule.name}" (${rule.type}) is not numeric or a date`,
  );
}

function compileAggregation(catalog: FieldCatalog, spec: AggregationSpec): EngineAggregation {
  const what = `aggregation "${spec.name}" (${spec.type})`;
  const rule = catalog.field(spec.field, what);
  if (rule.vector) throw vectorFieldError(rule, what);
  const unused = (key: 'size' | 'interval' | 'ranges') => {
    if (spec[key] !== undefined) throw new InvalidQueryError(`${what}: "${key}" does not apply`);
  };
  switch (spec.type) {
    case 'terms': {
      unused('interval');
      unused('ranges');
      const { path, kind } = exactRule(rule, what);
      const size = spec.size ?? DEFAULT_TERMS_BUCKETS;
      if (size > MAX_TERMS_BUCKETS)
        throw new InvalidQueryError(`${what}: size must be from 1 to ${MAX_TERMS_BUCKETS}`);
      // A timestamp's buckets are its exact values, keyed as `_source` holds them.
      if (rule.timestampPath)
        return {
          name: spec.name,
          type: 'terms',
          field: rule.timestampPath,
          size,
          keyFormat: 'raw',
        };
      return {
        name: spec.name,
        type: 'terms',
        field: path,
        size,
        keyFormat: kind === 'boolean' ? 'boolean' : kind === 'date' ? 'string' : 'raw',
      };
    }
    case 'cardinality': {
      unused('interval');
      unused('ranges');
      unused('size');
      const { path } = exactRule(rule, what);
      return { name: spec.name, type: 'cardinality', field: rule.timestampPath ?? path };
    }
    case 'stats': {
      unused('interval');
      unused('ranges');
      unused('size');
      numericOrDate(rule, what);
      return { name: spec.name, type: 'stats', field: rule.exactPath ?? rule.name };
    }
    case 'range': {
      unused('interval');
      unused('size');
      const kind = numericOrDate(rule, what);
      if (!spec.ranges) throw new InvalidQueryError(`${what}: ranges are required`);
      const ranges = spec.ranges.map((r, i) => {
        if (r.from === undefined && r.to === undefined)
          throw new InvalidQueryError(`${what}: ranges[${i}] needs from or to`);
        const bound = (
          v: string | number | undefined,
          end: 'from' | 'to',
        ): FilterScalar | undefined => {
          if (v === undefined) return undefined;
          if (kind === 'date') return dateAggregationBound(rule, v, end);
          return coerceValue(rule, kind === 'integer' ? 'number' : kind, v, 'range');
        };
        return { key: r.key, from: bound(r.from, 'from'), to: bound(r.to, 'to') };
      });
      return { name: spec.name, type: 'range', field: rule.exactPath ?? rule.name, ranges };
    }
    case 'histogram': {
      unused('ranges');
      const kind = numericOrDate(rule, what);
      if (kind === 'date') throw new InvalidQueryError(`${what}: use date_histogram for dates`);
      if (
        typeof spec.interval !== 'number' ||
        !Number.isFinite(spec.interval) ||
        spec.interval <= 0 ||
        spec.interval > 1e15
      )
        throw new InvalidQueryError(`${what}: interval must be a positive number`);
      return {
        name: spec.name,
        type: 'histogram',
        field: rule.exactPath ?? rule.name,
        interval: spec.interval,
        size: spec.size ?? MAX_HISTOGRAM_BUCKETS,
      };
    }
    case 'date_histogram': {
      unused('ranges');
      if (rule.storedOnly) throw storedOnlyError(rule, what);
      if (rule.exactKind !== 'date')
        throw new InvalidQueryError(`${what}: field "${rule.name}" is not a date`);
      const interval = typeof spec.interval === 'string' ? spec.interval : '';
      const calendar = CALENDAR_INTERVALS[interval];
      if (!calendar && !FIXED_INTERVAL.test(interval))
        throw new InvalidQueryError(
          `${what}: interval must be one of ${Object.keys(CALENDAR_INTERVALS).join(', ')} or a fixed duration like 30m, 6h, 7d`,
        );
      return {
        name: spec.name,
        type: 'date_histogram',
        field: rule.name,
        interval: calendar ?? interval,
        calendar: calendar !== undefined,
        size: spec.size ?? MAX_HISTOGRAM_BUCKETS,
      };
    }
  }
}

/** A filter of `knn.filters`: its errors say where it is. */
function compileKnnFilter(catalog: FieldCatalog, filter: FilterSpec): EngineFilter[] {
  try {
    return compileFilter(catalog, filter);
  } catch (error) {
    if (error instanceof InvalidQueryError)
      throw new InvalidQueryError(`knn.filters: ${error.message}`);
    throw error;
  }
}

/** The squared length of a vector as the engine's 32-bit floats compute it. */
function float32SquaredLength(vector: number[]): number {
  let sum = 0;
  for (const value of vector) {
    const f = Math.fround(value);
    sum = Math.fround(sum + Math.fround(f * f));
  }
  return sum;
}

/**
 * `knn` checked against the table's vector columns: the engine field of the column's vector
 * copy, a vector the field can take, k and the candidates. The filters are compiled with the
 * request's others (see compileSearch).
 */
function compileKnn(catalog: FieldCatalog, spec: KnnSpec): EngineKnn {
  const vectors = catalog.vectorFields;
  // Unknown, hidden and non-vector fields get the same answer: it tells nothing about hidden ones.
  const rule = vectors.find((r) => r.name === spec.field);
  if (!rule?.vector) {
    if (vectors.length === 0)
      throw new InvalidQueryError(
        'knn.field: this table has no vector columns; a column is searched with knn once searchsync.yaml gives it type: vector with dims (and similarity) and its index is rebuilt',
      );
    const list = vectors.map((r) => `${r.name} (${r.vector ? describeVector(r.vector) : ''})`);
    throw new InvalidQueryError(
      `knn.field: ${JSON.stringify(spec.field.slice(0, 64))} is not a vector column of this table; its vector columns: ${list.join(', ')}`,
    );
  }
  const { dims, similarity, field } = rule.vector;
  if (spec.vector.length !== dims)
    throw new InvalidQueryError(
      `knn.vector: ${spec.vector.length} number${spec.vector.length === 1 ? '' : 's'} given, ${rule.name} has ${dims} dimensions`,
    );
  const huge = spec.vector.findIndex((v) => Math.abs(v) > FLOAT32_MAX);
  if (huge >= 0)
    throw new InvalidQueryError(
      `knn.vector.${huge}: ${spec.vector[huge]} is beyond the range of a 32-bit float (±3.4e38), which vectors are indexed as`,
    );
  const squaredLength = float32SquaredLength(spec.vector);
  if (!Number.isFinite(squaredLength))
    throw new InvalidQueryError(
      'knn.vector: its length overflows a 32-bit float, so similarities would be infinite; scale it down (embeddings are usually of length about 1)',
    );
  if (similarity === 'cosine' && squaredLength === 0) {
    const zeros = spec.vector.every((v) => v === 0);
    throw new InvalidQueryError(
      `knn.vector: ${rule.name} compares by cosine, and the cosine of a zero vector is undefined${zeros ? '' : ' (this one has length zero in 32-bit floats)'}; give a vector with at least one non-zero number`,
    );
  }
  const k = spec.k ?? DEFAULT_KNN_K;
  if (spec.numCandidates !== undefined && spec.numCandidates < k)
    throw new InvalidQueryError(
      `knn.numCandidates: ${spec.numCandidates} is fewer than k (${k}); give at least k, or leave it out (default: max(10 × k, 100), at most ${MAX_KNN_CANDIDATES})`,
    );
  return {
    field,
    vector: spec.vector,
    k,
    numCandidates: spec.numCandidates ?? defaultNumCandidates(k),
  };
}

export interface CompiledSearch {
  text?: { query: string; fields: string[] };
  /** The k nearest documents; with `text`, a hybrid query. */
  knn?: EngineKnn;
  filters: EngineFilter[];
  sort: EngineSort[];
  source?: string[];
  highlight?: { fields: string[] };
  aggregations?: EngineAggregation[];
  /** Hits per page: the request's, else k with knn, else DEFAULT_SIZE. */
  size: number;
  /** What a cursor must belong to (everything that decides the order of hits). */
  shape: unknown;
}

/** Checks a search spec against one table's fields; only allowlisted constructs come out. */
export function compileSearch(catalog: FieldCatalog, spec: SearchSpec): CompiledSearch {
  const q = spec.q?.trim();
  const knn = spec.knn ? compileKnn(catalog, spec.knn) : undefined;
  // Both lists apply to every hit (and go inside the k-NN search as its pre-filter).
  const filters = [
    ...(spec.filters ?? []).flatMap((f) => compileFilter(catalog, f)),
    ...(spec.knn?.filters ?? []).flatMap((f) => compileKnnFilter(catalog, f)),
  ];
  // The k nearest come by similarity; only that order is a sort of them.
  if (knn && spec.sort?.some((s) => s.field !== '_score' || s.order !== 'desc'))
    throw new InvalidQueryError(
      'sort: knn results are ordered by similarity (score, highest first); remove sort',
    );
  const sort = knn ? [] : (spec.sort ?? []).flatMap((s) => compileSort(catalog, s));
  if (sort.length === 0 && (q || knn)) sort.push({ field: '_score', order: 'desc' });
  const fields = spec.fields?.map((f) => {
    if (!catalog.isProjectable(f)) catalog.field(f, 'fields');
    return f;
  });
  let highlight: { fields: string[] } | undefined;
  if (spec.highlight === true) highlight = { fields: catalog.textFields };
  else if (spec.highlight && typeof spec.highlight === 'object') {
    const names = spec.highlight.fields ?? catalog.textFields;
    for (const name of names) {
      const rule = catalog.field(name, 'highlight');
      if (rule.vector) throw vectorFieldError(rule, 'highlight');
      if (rule.kind !== 'text')
        throw new InvalidQueryError(
          `highlight: field "${rule.name}" (${rule.type}) is not a text field`,
        );
    }
    highlight = { fields: names };
  }
  const aggregations = spec.aggregations?.map((a) => compileAggregation(catalog, a));
  const names = aggregations?.map((a) => a.name) ?? [];
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new InvalidQueryError(`aggregation name "${duplicate}" is used twice`);
  return {
    ...(q ? { text: { query: q, fields: catalog.fullTextFields } } : {}),
    ...(knn ? { knn } : {}),
    filters,
    sort,
    ...(fields ? { source: fields } : {}),
    ...(highlight ? { highlight } : {}),
    ...(aggregations?.length ? { aggregations } : {}),
    size: spec.size ?? (knn ? knn.k : DEFAULT_SIZE),
    // A cursor of one vector (or k) is not one of another; plain searches keep their shape.
    shape: { q: q ?? null, filters, sort, ...(knn ? { knn } : {}) },
  };
}
