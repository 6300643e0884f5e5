import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';

export class FieldDto {
  @ApiProperty({ example: 'name', description: 'dotted path for nested fields' }) name!: string;
  @ApiProperty({
    example: 'text',
    description:
      'engine type: text, keyword, long, integer, double, date, boolean, object (json/jsonb: stored, not searchable), binary (bytea), vector (a column searched with `knn`: not filterable, sortable or aggregatable; returned by `fields`), …',
  })
  type!: string;
  @ApiPropertyOptional({
    type: 'integer',
    example: 384,
    description: 'type vector: the number of elements a `knn.vector` must have',
  })
  dims?: number;
  @ApiPropertyOptional({
    enum: ['l2', 'cosine', 'dot_product'],
    example: 'cosine',
    description:
      'type vector: how `knn` compares vectors (pgvector `<->`, `<=>`, `<#>`); cosine refuses a zero vector',
  })
  similarity?: 'l2' | 'cosine' | 'dot_product';
}

export class NotReplicatedColumnDto {
  @ApiProperty({ example: 'total' }) column!: string;
  @ApiProperty({
    example:
      'generated column: PostgreSQL replicates generated columns only from version 18, with the publication option publish_generated_columns = stored',
  })
  reason!: string;
}

export class TableDto {
  @ApiProperty({ example: 'products', description: '`schema.table`, or `table` for schema public' })
  table!: string;
  @ApiProperty({ example: 42 }) documents!: number;
  @ApiProperty({
    type: [FieldDto],
    description:
      'the fields that can be searched, filtered, sorted and returned; columns searchsync.yaml excludes (or leaves out of include) are not listed',
  })
  fields!: FieldDto[];
  @ApiProperty({
    type: [NotReplicatedColumnDto],
    description:
      'columns of the table that are in no document, and why: generated columns PostgreSQL does not replicate (before version 18, or without publish_generated_columns), columns of types Debezium does not send. They are not searchable fields, and verify leaves them out',
  })
  notReplicated!: NotReplicatedColumnDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    example:
      "the table's configuration (fields, exclusions or shards) changed since its index was built: rebuild it (POST /v1/tables/public.film/rebuild)",
    description:
      'why the index no longer matches searchsync.yaml (its fields, exclusions or shards changed since it was built, or the indexer met a value its mapping cannot take) and must be rebuilt; null when it matches. Until the rebuild the table is served as it is indexed, minus the columns the configuration hides',
  })
  needsRebuild!: string | null;
}

export class ConsistencyStagesDto {
  @ApiProperty({
    example: 412,
    description: "ms until Kafka Connect had committed Debezium's position past the LSN",
  })
  source!: number;
  @ApiProperty({
    example: 35,
    description: 'ms until the indexer had applied every change up to it',
  })
  indexer!: number;
  @ApiProperty({ example: 9, description: 'ms of the index refresh that made them searchable' })
  refresh!: number;
}

export class ConsistencyDto {
  @ApiProperty({ example: '0/16B3748', description: 'the consistentWith LSN' }) lsn!: string;
  @ApiProperty({ example: 456, description: 'how long the read waited, in milliseconds' })
  waitedMs!: number;
  @ApiProperty({ type: ConsistencyStagesDto }) stages!: ConsistencyStagesDto;
}

const consistencyProperty = {
  type: ConsistencyDto,
  description: 'only with consistentWith: the wait for the LSN',
} as const;

export class DocumentDto {
  @ApiProperty({ example: '7', description: 'primary key; JSON array for composite keys' })
  id!: string;
  @ApiProperty({ example: 'products' }) table!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { id: 7, name: 'Espresso machine', price: '249.90' },
  })
  source!: Record<string, unknown>;
  @ApiPropertyOptional(consistencyProperty) consistency?: ConsistencyDto;
}

export class FilterDto {
  @ApiProperty({ example: 'price' }) field!: string;
  @ApiProperty({
    enum: ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists', 'prefix'],
    example: 'lt',
  })
  op!: string;
  @ApiPropertyOptional({
    description:
      'a string, number or boolean; an array for `in`; `true`/`false` (default true) for `exists`',
    oneOf: [
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
      {
        type: 'array',
        items: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
      },
    ],
    example: 500,
  })
  value?: unknown;
}

export class SortDto {
  @ApiProperty({ example: 'price', description: 'a sortable field, or `_score`' }) field!: string;
  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc' }) order?: 'asc' | 'desc';
}

export class RangeDto {
  @ApiPropertyOptional({ example: 'cheap' }) key?: string;
  @ApiPropertyOptional({ oneOf: [{ type: 'number' }, { type: 'string' }], example: 0 })
  from?: number | string;
  @ApiPropertyOptional({ oneOf: [{ type: 'number' }, { type: 'string' }], example: 100 })
  to?: number | string;
}

export class AggregationDto {
  @ApiProperty({ example: 'by_tag', pattern: '^[A-Za-z0-9_-]{1,64}$' }) name!: string;
  @ApiProperty({
    enum: ['terms', 'range', 'histogram', 'date_histogram', 'stats', 'cardinality'],
    example: 'terms',
  })
  type!: string;
  @ApiProperty({ example: 'tags' }) field!: string;
  @ApiPropertyOptional({
    description:
      'buckets returned: terms 1-100 (default 10), histograms 1-10000 (default 10000); when more exist the answer says `truncated: true` with `otherCount`',
    example: 10,
  })
  size?: number;
  @ApiPropertyOptional({
    description:
      'histogram: a positive number; date_histogram: minute, hour, day, week, month, quarter, year, or a fixed duration like 30m, 6h, 7d',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: 'month',
  })
  interval?: number | string;
  @ApiPropertyOptional({
    type: [RangeDto],
    description: 'range: 1-50 ranges, from inclusive, to exclusive',
  })
  ranges?: RangeDto[];
}

export class HighlightDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['name'],
    description: 'text fields; default all',
  })
  fields?: string[];
}

export class KnnDto {
  @ApiProperty({
    example: 'embedding',
    description: 'a vector column of the table (`type: vector` in GET /v1/tables)',
  })
  field!: string;
  @ApiProperty({
    type: [Number],
    example: [0.12, -0.4, 0.33, 0.05],
    description:
      "the query embedding: exactly the field's `dims` finite numbers (32-bit float range); not all zeros for cosine",
  })
  vector!: number[];
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 10,
    description:
      'neighbours to find; also the default `size`. An index of several shards (`index.shards`) finds up to k on each shard',
  })
  k?: number;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10000,
    description:
      'candidates each shard considers (HNSW ef_search / num_candidates), at least k; default max(10 × k, 100), at most 10000. Higher: better recall, slower',
  })
  numCandidates?: number;
  @ApiPropertyOptional({
    type: [FilterDto],
    example: [{ field: 'in_stock', op: 'eq', value: true }],
    description:
      'same syntax as `filters`, and the same effect: both lists apply to every hit (AND), the text matches of a hybrid query too. They filter during the k-NN search, so k neighbours that pass are found',
  })
  filters?: FilterDto[];
}

export class SearchRequestDto {
  @ApiPropertyOptional({
    example: 'espresso -decaf',
    description:
      'full text over the text fields, simple query string syntax: `+` `|` `-` `"phrase"` `prefix*` `( )`',
  })
  q?: string;
  @ApiPropertyOptional({ type: [FilterDto], example: [{ field: 'price', op: 'lt', value: 500 }] })
  filters?: FilterDto[];
  @ApiPropertyOptional({
    type: [SortDto],
    example: [{ field: 'price', order: 'desc' }],
    description:
      'with `knn` only `_score` desc (the default) is accepted: knn results are ordered by similarity',
  })
  sort?: SortDto[];
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1000,
    default: 20,
    description:
      'hits per page; 0 = aggregations only (needs `aggregations`, no `cursor`). With `knn` the default is `knn.k`; a larger size adds only text matches (hybrid), the knn part gives at most k',
  })
  size?: number;
  @ApiPropertyOptional({ description: '`nextCursor` of the previous page, same query' })
  cursor?: string;
  @ApiPropertyOptional({
    type: [String],
    example: ['id', 'name', 'price'],
    description: 'projection',
  })
  fields?: string[];
  @ApiPropertyOptional({
    oneOf: [{ type: 'boolean' }, { $ref: '#/components/schemas/HighlightDto' }],
    example: true,
  })
  highlight?: boolean | HighlightDto;
  @ApiPropertyOptional({
    type: [AggregationDto],
    example: [
      { name: 'by_tag', type: 'terms', field: 'tags', size: 5 },
      { name: 'price', type: 'stats', field: 'price' },
    ],
  })
  aggregations?: AggregationDto[];
  @ApiPropertyOptional({
    type: KnnDto,
    description:
      'vector search: the k documents nearest to `vector` in a vector column, among those the filters admit, by similarity. With `q` a hybrid query: documents matching q or among the k nearest, scored by the sum of both scores (highlight marks the q matches)',
    example: {
      field: 'embedding',
      vector: [0.12, -0.4, 0.33, 0.05],
      k: 10,
      filters: [{ field: 'in_stock', op: 'eq', value: true }],
    },
  })
  knn?: KnnDto;
}

export class HitDto {
  @ApiProperty({ example: '7' }) id!: string;
  @ApiProperty({ example: 1.38, nullable: true, type: Number }) score!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { id: 7, name: 'Espresso machine' },
  })
  source!: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { name: ['<em>Espresso</em> machine'] },
    description: 'matching fragments per field, HTML-escaped, matches in <em>',
  })
  highlight?: Record<string, string[]>;
}

export class CrossTableHitDto extends HitDto {
  @ApiProperty({ example: 'products' }) table!: string;
}

export class BucketDto {
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }],
    example: 'coffee',
  })
  key!: string | number | boolean;
  @ApiProperty({ example: 3 }) count!: number;
  @ApiPropertyOptional({ example: 0, description: 'range buckets' }) from?: number;
  @ApiPropertyOptional({ example: 100, description: 'range buckets' }) to?: number;
}

export class BucketAggregationDto {
  @ApiProperty({ type: [BucketDto] }) buckets!: BucketDto[];
  @ApiPropertyOptional({
    type: Boolean,
    example: true,
    description:
      'present when buckets were left out: a histogram had more than `size`, or terms had other values; absent means every bucket is here',
  })
  truncated?: boolean;
  @ApiPropertyOptional({
    example: 670,
    description: 'with `truncated`: the documents in the buckets left out',
  })
  otherCount?: number;
}

export class StatsAggregationDto {
  @ApiProperty({ example: 8 }) count!: number;
  @ApiProperty({ example: 9.5, nullable: true, type: Number }) min!: number | null;
  @ApiProperty({ example: 1249, nullable: true, type: Number }) max!: number | null;
  @ApiProperty({ example: 310.2, nullable: true, type: Number }) avg!: number | null;
  @ApiProperty({ example: 2481.6 }) sum!: number;
}

export class ValueAggregationDto {
  @ApiProperty({ example: 5 }) value!: number;
}

const totals = {
  total: { example: 1 },
  totalRelation: { enum: ['eq', 'gte'], description: '`gte`: at least `total` hits' },
  nextCursor: {
    nullable: true,
    type: String,
    description: 'pass as `cursor` for the next page; null on the last page',
  },
};

@ApiExtraModels(BucketAggregationDto, StatsAggregationDto, ValueAggregationDto, HighlightDto)
export class SearchResponseDto {
  @ApiProperty(totals.total) total!: number;
  @ApiProperty(totals.totalRelation) totalRelation!: 'eq' | 'gte';
  @ApiProperty({ type: [HitDto] }) hits!: HitDto[];
  @ApiProperty(totals.nextCursor) nextCursor!: string | null;
  @ApiPropertyOptional({
    type: 'object',
    description: 'one entry per requested aggregation, by name',
    additionalProperties: {
      oneOf: [
        { $ref: getSchemaPath(BucketAggregationDto) },
        { $ref: getSchemaPath(StatsAggregationDto) },
        { $ref: getSchemaPath(ValueAggregationDto) },
      ],
    },
    example: { by_tag: { buckets: [{ key: 'coffee', count: 3 }] } },
  })
  aggregations?: Record<string, unknown>;
  @ApiProperty({ example: 3, description: 'engine time in milliseconds' }) tookMs!: number;
  @ApiPropertyOptional(consistencyProperty) consistency?: ConsistencyDto;
}

export class CrossTableSearchResponseDto {
  @ApiProperty(totals.total) total!: number;
  @ApiProperty(totals.totalRelation) totalRelation!: 'eq' | 'gte';
  @ApiProperty({ type: [CrossTableHitDto] }) hits!: CrossTableHitDto[];
  @ApiProperty(totals.nextCursor) nextCursor!: string | null;
  @ApiProperty({ example: 3 }) tookMs!: number;
  @ApiPropertyOptional(consistencyProperty) consistency?: ConsistencyDto;
}

export class ErrorDto {
  @ApiProperty({ example: 404 }) statusCode!: number;
  @ApiProperty({ example: 'Not Found' }) error!: string;
  @ApiProperty({ example: 'table "nope" is not synced; GET /v1/tables lists the synced tables' })
  message!: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'only when consistentWith timed out (504): the step that held the read — `source` (Debezium has not committed past the LSN: sourceLsn, bytesBehind), `indexer` (pendingEvents, per topic) or `refresh`',
    example: {
      stage: 'indexer',
      lsn: '0/16B3748',
      pendingEvents: 42,
      topics: { 'searchsync.public.products': 42 },
    },
  })
  lag?: Record<string, unknown>;
}

export class ConfigurationHealthDto {
  @ApiProperty({
    type: [String],
    example: ['/srv/searchsync/searchsync.yaml'],
    description: 'the table configuration files in use (empty: every table is synced as it is)',
  })
  files!: string[];
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      'why the files as they are now were rejected (file:line:column — what to fix); the last valid configuration stays in use. null when the files are valid',
  })
  error!: string | null;
}

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: 'ok';
  @ApiProperty({ example: 'opensearch 2.19.6' }) engine!: string;
  @ApiProperty({ type: ConfigurationHealthDto }) configuration!: ConfigurationHealthDto;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid request: unknown field, bad operator or value, bad cursor, size out of range, knn not matching a vector column',
  401: 'missing or invalid API key',
  403: 'the API key may not read this table',
  404: 'unknown table or document',
  413: 'request body too large',
  429: 'rate limit exceeded (see Retry-After)',
  503: 'search engine unreachable (see Retry-After)',
  504: 'search engine timed out, or consistentWith not reached in time (the body has `lag`)',
};

/** The error responses a route may give, all in the `{ statusCode, error, message }` shape. */
export function ApiErrors(...codes: number[]) {
  return applyDecorators(
    ...codes.map((status) =>
      ApiResponse({ status, description: ERROR_DESCRIPTIONS[status], type: ErrorDto }),
    ),
  );
}
