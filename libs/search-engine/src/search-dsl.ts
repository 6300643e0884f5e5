import { TIEBREAK_FIELD, vectorSpec, type EngineDialect } from './engine-dialect';
import {
  ROOT_COUNT_AGG,
  nestClauses,
  nestedAggregation,
  nestedQuery,
  nestedSortOption,
  nestingOf,
  unwrapNestedAggregation,
  type FieldClause,
} from './nested-paths';
import { columnOfVectorField, vectorFieldOf } from './vector-fields';
import type {
  AggregationResult,
  EngineAggregation,
  EngineFilter,
  JsonObject,
  MappedField,
  PageHit,
  SearchPage,
  SearchRequest,
} from './search-engine';

/**
 * The only query syntax features `q` may use: no fuzzy/slop (costly), no near operators.
 * simple_query_string has no regexp or leading-wildcard syntax at all.
 */
export const SIMPLE_QUERY_FLAGS = 'AND|OR|NOT|PHRASE|PRECEDENCE|PREFIX|WHITESPACE|ESCAPE';

export const HIGHLIGHT_PRE_TAG = '<em>';
export const HIGHLIGHT_POST_TAG = '</em>';

/** How the adapter breaks sort ties so search-after paging is stable. */
export interface TiebreakOptions {
  /** Field holding the document id for sorting: TIEBREAK_FIELD, or `_id` for older indices. */
  idField: string;
  /** Sorts an index that does not map the field as if it had no values, instead of failing. */
  unmappedType?: 'keyword';
}

function filterClause(filter: EngineFilter): { clause: JsonObject; negate: boolean } {
  switch (filter.kind) {
    case 'term':
      return { clause: { term: { [filter.field]: filter.value } }, negate: filter.negate };
    case 'terms':
      return { clause: { terms: { [filter.field]: filter.values } }, negate: false };
    case 'range': {
      const bounds: JsonObject = {};
      for (const key of ['gt', 'gte', 'lt', 'lte'] as const) {
        if (filter[key] !== undefined) bounds[key] = filter[key];
      }
      return { clause: { range: { [filter.field]: bounds } }, negate: false };
    }
    case 'exists':
      return { clause: { exists: { field: filter.field } }, negate: filter.negate };
    case 'prefix':
      // A prefix query is literal: `*` and `?` in the value are plain characters.
      return { clause: { prefix: { [filter.field]: { value: filter.value } } }, negate: false };
    case 'timestamp-range':
      return { clause: timestampRangeClause(filter), negate: false };
  }
}

/**
 * The date holds the instant cut to the millisecond, so a later (earlier) millisecond decides
 * alone; within the bound's own millisecond the canonical strings order like the instants.
 * `infinity` / `-infinity` are malformed dates to the engine; PostgreSQL orders them after and
 * before every instant, so a lower bound admits `infinity` and an upper bound `-infinity`.
 */
function timestampRangeClause(
  filter: Extract<EngineFilter, { kind: 'timestamp-range' }>,
): JsonObject {
  const side = (op: 'gte' | 'lt', bound: string): JsonObject => {
    const millisecond = bound.slice(0, -3);
    return {
      bool: {
        should: [
          { range: { [filter.field]: { [op === 'gte' ? 'gt' : 'lt']: millisecond } } },
          {
            bool: {
              filter: [
                { prefix: { [filter.exactField]: { value: millisecond } } },
                { range: { [filter.exactField]: { [op]: bound } } },
              ],
            },
          },
          { term: { [filter.exactField]: op === 'gte' ? 'infinity' : '-infinity' } },
        ],
        minimum_should_match: 1,
      },
    };
  };
  const sides: JsonObject[] = [];
  if (filter.gte !== undefined) sides.push(side('gte', filter.gte));
  if (filter.lt !== undefined) sides.push(side('lt', filter.lt));
  return sides.length === 1 ? sides[0] : { bool: { filter: sides } };
}

const isBucketAggregation = (agg: EngineAggregation) =>
  agg.type !== 'stats' && agg.type !== 'cardinality';

/**
 * `q` over the text fields: one simple_query_string for the root's fields and one inside each
 * nested path for that path's own fields, any of them matching.
 */
function textQuery(text: { query: string; fields: string[] }, nestedPaths: string[]): JsonObject {
  const sqs = (fields: string[]): JsonObject => ({
    simple_query_string: {
      query: text.query,
      fields,
      default_operator: 'and',
      flags: SIMPLE_QUERY_FLAGS,
      lenient: true,
      analyze_wildcard: false,
    },
  });
  const byNesting = new Map<string, { paths: string[]; fields: string[] }>();
  for (const field of text.fields) {
    const paths = nestingOf(field, nestedPaths);
    const key = paths.join('\u0000');
    const group = byNesting.get(key) ?? { paths, fields: [] };
    group.fields.push(field);
    byNesting.set(key, group);
  }
  const queries = [...byNesting.values()].map(({ paths, fields }) =>
    paths.length ? nestedQuery(paths, sqs(fields)) : sqs(fields),
  );
  return queries.length === 1 ? queries[0] : { bool: { should: queries, minimum_should_match: 1 } };
}

function aggregationBody(agg: EngineAggregation): JsonObject {
  switch (agg.type) {
    case 'terms':
      return { terms: { field: agg.field, size: agg.size } };
    case 'range':
      return {
        range: {
          field: agg.field,
          ranges: agg.ranges.map((r) => ({
            ...(r.key !== undefined ? { key: r.key } : {}),
            ...(r.from !== undefined ? { from: r.from } : {}),
            ...(r.to !== undefined ? { to: r.to } : {}),
          })),
        },
      };
    case 'histogram':
      return { histogram: { field: agg.field, interval: agg.interval, min_doc_count: 1 } };
    case 'date_histogram':
      return {
        date_histogram: {
          field: agg.field,
          [agg.calendar ? 'calendar_interval' : 'fixed_interval']: agg.interval,
          min_doc_count: 1,
          format: 'strict_date_optional_time',
        },
      };
    case 'stats':
      return { stats: { field: agg.field } };
    case 'cardinality':
      return { cardinality: { field: agg.field } };
  }
}

/**
 * The k nearest documents among those the filters admit: the filters go inside the k-NN clause,
 * so the graph search looks for k neighbours that pass them (a filter applied afterwards would
 * leave fewer than k, or none). With text too (hybrid), a document matches either way and
 * scores the sum; the filters then bound the text matches as well.
 */
function knnSearchQuery(
  knn: NonNullable<SearchRequest['knn']>,
  must: JsonObject[],
  filter: JsonObject[],
  mustNot: JsonObject[],
  dialect: Pick<EngineDialect, 'knnQuery'> | undefined,
): JsonObject {
  if (!dialect) throw new Error('a k-NN search needs the engine dialect');
  const admitted = mustNot.length ? [...filter, { bool: { must_not: mustNot } }] : filter;
  const nearest = dialect.knnQuery({ ...knn, filter: admitted });
  if (must.length === 0) return nearest;
  return {
    bool: {
      should: [...must, nearest],
      minimum_should_match: 1,
      ...(filter.length ? { filter } : {}),
      ...(mustNot.length ? { must_not: mustNot } : {}),
    },
  };
}

/** The search body for a validated request; shared by the OpenSearch and Elasticsearch adapters. */
export function buildSearchBody(
  request: SearchRequest,
  tiebreak: TiebreakOptions,
  indexFilter?: JsonObject,
  dialect?: Pick<EngineDialect, 'knnQuery'>,
): JsonObject {
  const nestedPaths = request.nestedPaths ?? [];
  const must: JsonObject[] = [];
  const filter: JsonObject[] = indexFilter ? [indexFilter] : [];
  const mustNot: JsonObject[] = [];
  if (request.text && request.text.fields.length === 0) {
    // A table without text fields: nothing can match words.
    must.push({ match_none: {} });
  } else if (request.text) {
    must.push(textQuery(request.text, nestedPaths));
  }
  const clauses: FieldClause[] = request.filters.map((f) => ({
    field: f.field,
    ...filterClause(f),
  }));
  const nested = nestClauses(clauses, nestedPaths);
  filter.push(...nested.filter);
  mustNot.push(...nested.mustNot);
  const query = request.knn
    ? knnSearchQuery(request.knn, must, filter, mustNot, dialect)
    : must.length + filter.length + mustNot.length === 0
      ? { match_all: {} }
      : {
          bool: {
            ...(must.length ? { must } : {}),
            ...(filter.length ? { filter } : {}),
            ...(mustNot.length ? { must_not: mustNot } : {}),
          },
        };

  const sort: JsonObject[] = request.sort.map((s) => {
    if (s.field === '_score') return { _score: { order: s.order } };
    const nestedOption = nestedSortOption(nestingOf(s.field, nestedPaths));
    return {
      [s.field]: {
        order: s.order,
        missing: '_last',
        unmapped_type: 'keyword',
        ...(nestedOption ? { nested: nestedOption } : {}),
      },
    };
  });
  // Ties broken by table, then id: the same id may exist in two tables of a cross-table search.
  if (request.indices.length > 1) sort.push({ _index: { order: 'asc' } });
  sort.push({
    [tiebreak.idField]: {
      order: 'asc',
      ...(tiebreak.unmappedType ? { unmapped_type: tiebreak.unmappedType } : {}),
    },
  });

  const body: JsonObject = {
    query,
    sort,
    size: request.size,
    track_total_hits: request.trackTotalHitsUpTo,
    track_scores: true,
  };
  if (request.searchAfter) body.search_after = request.searchAfter;
  if (request.source) body._source = { includes: request.source };
  if (request.timeoutMs !== undefined) body.timeout = `${request.timeoutMs}ms`;
  if (request.highlight && request.highlight.fields.length > 0) {
    body.highlight = {
      pre_tags: [HIGHLIGHT_PRE_TAG],
      post_tags: [HIGHLIGHT_POST_TAG],
      // Document text is escaped, so only our tags are markup.
      encoder: 'html',
      require_field_match: true,
      number_of_fragments: 3,
      fragment_size: 150,
      fields: Object.fromEntries(request.highlight.fields.map((f) => [f, {}])),
    };
  }
  if (request.aggregations?.length) {
    body.aggs = Object.fromEntries(
      request.aggregations.map((a) => {
        const paths = nestingOf(a.field, nestedPaths);
        const own = aggregationBody(a);
        return [a.name, paths.length ? nestedAggregation(paths, own, isBucketAggregation(a)) : own];
      }),
    );
  }
  return body;
}

interface RawBucket {
  key: unknown;
  key_as_string?: string;
  doc_count: number;
  /** Root documents of the bucket, for an aggregation on a nested field. */
  [ROOT_COUNT_AGG]?: { doc_count: number };
  from?: number;
  to?: number;
}

function bucketKey(agg: EngineAggregation, bucket: RawBucket): string | number | boolean {
  if (agg.type === 'date_histogram') return bucket.key_as_string ?? String(bucket.key);
  if (agg.type === 'terms') {
    if (agg.keyFormat === 'boolean')
      return bucket.key_as_string === 'true' || bucket.key === 1 || bucket.key === true;
    if (agg.keyFormat === 'string') return bucket.key_as_string ?? String(bucket.key);
  }
  return typeof bucket.key === 'number' || typeof bucket.key === 'string'
    ? bucket.key
    : String(bucket.key);
}

/**
 * A bucket aggregation's answer. `truncated` and `otherCount` (documents in the buckets left
 * out) are there only when buckets were left out: a terms aggregation's `size` cut off other
 * values, or a histogram had more non-empty buckets than its `size`.
 */
export interface BucketAggregationResult {
  buckets: { key: string | number | boolean; count: number; from?: number; to?: number }[];
  truncated?: true;
  otherCount?: number;
}

function bucketResult(agg: EngineAggregation, raw: JsonObject): BucketAggregationResult {
  const all = (raw.buckets as RawBucket[] | undefined) ?? [];
  // The engine has no bucket limit for histograms: it answers all of them, key ascending, and
  // we keep the first `size`.
  const histogram = agg.type === 'histogram' || agg.type === 'date_histogram';
  const kept = histogram ? all.slice(0, agg.size) : all;
  const count = (b: RawBucket) => b[ROOT_COUNT_AGG]?.doc_count ?? b.doc_count;
  const otherCount = histogram
    ? all.slice(kept.length).reduce((sum, b) => sum + count(b), 0)
    : agg.type === 'terms'
      ? ((raw.sum_other_doc_count as number | undefined) ?? 0)
      : 0;
  const truncated = kept.length < all.length || otherCount > 0;
  return {
    buckets: kept.map((b) => ({
      key: bucketKey(agg, b),
      count: count(b),
      ...(agg.type === 'range' && b.from !== undefined ? { from: b.from } : {}),
      ...(agg.type === 'range' && b.to !== undefined ? { to: b.to } : {}),
    })),
    ...(truncated ? { truncated: true as const, otherCount } : {}),
  };
}

function aggregationResult(agg: EngineAggregation, raw: JsonObject): AggregationResult {
  switch (agg.type) {
    case 'stats':
      return {
        count: (raw.count as number) ?? 0,
        min: (raw.min as number | null) ?? null,
        max: (raw.max as number | null) ?? null,
        avg: (raw.avg as number | null) ?? null,
        sum: (raw.sum as number) ?? 0,
      };
    case 'cardinality':
      return { value: (raw.value as number) ?? 0 };
    case 'terms':
    case 'range':
    case 'histogram':
    case 'date_histogram':
      return bucketResult(agg, raw);
  }
}

export interface RawSearchResponse {
  took: number;
  timed_out?: boolean;
  hits: {
    total?: { value: number; relation: 'eq' | 'gte' } | number;
    hits: {
      _index: string;
      _id: string;
      _score: number | null;
      _source?: JsonObject;
      sort?: unknown[];
      highlight?: Record<string, string[]>;
    }[];
  };
  aggregations?: Record<string, JsonObject>;
}

/** The engine's answer in our shape; `aliasOf` maps a concrete index back to our alias. */
export function parseSearchResponse(
  request: SearchRequest,
  raw: RawSearchResponse,
  aliasOf: (index: string) => string,
): SearchPage {
  const total = raw.hits.total;
  const hits: PageHit[] = raw.hits.hits.map((hit) => ({
    id: hit._id,
    index: aliasOf(hit._index),
    score: typeof hit._score === 'number' && Number.isFinite(hit._score) ? hit._score : null,
    source: hit._source ?? {},
    sort: hit.sort ?? [],
    ...(hit.highlight ? { highlight: hit.highlight } : {}),
  }));
  const counted = typeof total === 'number' ? total : (total?.value ?? hits.length);
  // OpenSearch's k-NN plugin before 3.5 hands Lucene max(k, ef_search) as its k, so a k-NN
  // query matches up to numCandidates documents per shard: the k nearest are what was asked.
  const nearestOnly = request.knn !== undefined && request.text === undefined;
  const page: SearchPage = {
    total: nearestOnly ? Math.min(counted, request.knn?.k ?? counted) : counted,
    totalRelation: nearestOnly || typeof total === 'number' ? 'eq' : (total?.relation ?? 'eq'),
    tookMs: raw.took,
    timedOut: raw.timed_out === true,
    hits,
  };
  if (request.aggregations?.length) {
    page.aggregations = Object.fromEntries(
      request.aggregations.map((a) => [
        a.name,
        aggregationResult(
          a,
          unwrapNestedAggregation(
            raw.aggregations?.[a.name] ?? {},
            nestingOf(a.field, request.nestedPaths ?? []).length,
          ),
        ),
      ]),
    );
  }
  return page;
}

/** A column indexed as a vector (it has a copy field) as the catalogue shows it. */
function vectorColumnField(properties: JsonObject, column: string): MappedField | null {
  const field = vectorFieldOf(column);
  const raw = properties[field];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const spec = vectorSpec(raw as JsonObject);
  if (!spec) return null;
  return {
    name: column,
    type: 'vector',
    subFields: {},
    vector: { dims: spec.dims, similarity: spec.similarity, field },
  };
}

const nesting = (nestedIn: string[]) => (nestedIn.length ? { nestedIn } : {});

/**
 * Leaf fields of a mapping with their sub-fields, objects flattened to dotted paths. The
 * tie-break field is ours, not the table's: never in the catalogue.
 */
export function mappedFields(
  properties: JsonObject | undefined,
  prefix = '',
  nestedIn: string[] = [],
): MappedField[] {
  const out: MappedField[] = [];
  for (const [name, raw] of Object.entries(properties ?? {})) {
    if (prefix === '' && (name === TIEBREAK_FIELD || columnOfVectorField(name) !== null)) continue;
    const copy = prefix === '' ? vectorColumnField(properties ?? {}, name) : null;
    if (copy) {
      out.push(copy);
      continue;
    }
    const spec = raw as {
      type?: string;
      properties?: JsonObject;
      fields?: Record<string, { type?: string }>;
    };
    const path = prefix ? `${prefix}.${name}` : name;
    if (spec.type && spec.type !== 'object' && spec.type !== 'nested') {
      const subFields = Object.fromEntries(
        Object.entries(spec.fields ?? {}).map(([sub, s]) => [sub, s.type ?? 'object']),
      );
      out.push({ name: path, type: spec.type, subFields, ...nesting(nestedIn) });
    } else if (spec.properties) {
      const inner = spec.type === 'nested' ? [...nestedIn, path] : nestedIn;
      out.push(...mappedFields(spec.properties, path, inner));
    } else {
      out.push({ name: path, type: spec.type ?? 'object', subFields: {}, ...nesting(nestedIn) });
    }
  }
  return out;
}
