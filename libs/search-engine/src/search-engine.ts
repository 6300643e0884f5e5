import type { TableGenerations, TableIndexOptions } from './table-generations';
import type { TableIndexNames, TableName } from './table-index';
import type { VectorColumn, VectorSimilarity } from './vector-fields';
import type { IndexedView, ViewIndexNames, ViewIndexOptions } from './view-index';

export type JsonObject = { [key: string]: unknown };

export type BulkAction =
  | {
      type: 'index';
      index: string;
      id: string;
      version: bigint;
      document: JsonObject;
      /** The table's vector columns: their values are also indexed as k-NN vectors. */
      vectors?: readonly VectorColumn[];
    }
  | { type: 'delete'; index: string; id: string; version: bigint };

export interface BulkItemResult {
  status: number;
  /**
   * - `applied`; `stale`: already superseded by a newer version (counted, not a failure);
   * - `missing_index`: the alias named does not exist (writes require an alias, so the engine
   *   never auto-creates an index without our mapping); create the table's index and retry;
   * - `blocked`: writes are not allowed now (credentials refused, a cluster or index block such
   *   as flood-stage read-only, a closed index): not the document's fault, retry later;
   * - `retryable`: 429/5xx for this item; `rejected`: the engine refused the document.
   */
  outcome: 'applied' | 'stale' | 'retryable' | 'rejected' | 'missing_index' | 'blocked';
  /** `type: reason (caused by type: reason)` as the engine gave it. */
  reason?: string;
  /** The engine's error type, e.g. `mapper_parsing_exception`. */
  type?: string;
}

export interface GetDocumentOptions {
  /**
   * Throw SearchEngineNotFoundError when the alias itself does not exist, instead of answering
   * null as for an absent document.
   */
  requireIndex?: boolean;
}

export interface EngineInfo {
  distribution: 'opensearch' | 'elasticsearch';
  version: string;
}

export interface IndexedTable extends TableName {
  alias: string;
  documents: number;
  fields: Pick<MappedField, 'name' | 'type' | 'vector'>[];
}

export interface SearchHit {
  id: string;
  score: number | null;
  source: JsonObject;
}

export interface SearchResult {
  total: number;
  totalRelation: 'eq' | 'gte';
  hits: SearchHit[];
  tookMs: number;
}

/** The small surface our apps need from Elasticsearch or OpenSearch. */
export interface SearchEngine {
  info(): Promise<EngineInfo>;
  /**
   * Creates the table's index and alias when missing, with these field mappings, and the
   * table's configured index settings and `_meta` additions.
   */
  ensureTableIndex(
    names: TableIndexNames,
    properties: JsonObject,
    options?: TableIndexOptions,
  ): Promise<void>;
  /** Index generations of tables, for zero-downtime rebuilds. */
  readonly generations: TableGenerations;
  /**
   * Adds field mappings to an existing index (new columns); leaves `_meta` as it is. Throws
   * SearchEngineNotFoundError when the alias does not exist, and a SearchEngineRequestError of
   * type `mapping_refused` (400) naming the fields the engine would not map.
   */
  extendMapping(alias: string, properties: JsonObject): Promise<void>;
  /**
   * Merges `meta` (shallowly) into `_meta.searchsync` of every index behind the alias, keeping
   * the other keys of `_meta`. Throws SearchEngineNotFoundError when the alias does not exist.
   * Read-modify-write: two concurrent calls on one alias may lose one of the updates.
   */
  setTableMeta(alias: string, meta: JsonObject): Promise<void>;
  /** Writes through aliases only: an action naming a missing alias is `missing_index`. */
  bulk(actions: BulkAction[]): Promise<BulkItemResult[]>;
  /** Throws SearchEngineNotFoundError when the alias does not exist. */
  deleteAllDocuments(alias: string): Promise<number>;
  /**
   * Deletes every index behind the alias (and so the alias itself), e.g. for a dropped table.
   * Returns how many indices were deleted; 0 when the alias does not exist.
   */
  deleteTableIndices(alias: string): Promise<number>;
  /** The document's source; null when absent (and when the alias is, unless `requireIndex`). */
  getDocument(alias: string, id: string, options?: GetDocumentOptions): Promise<JsonObject | null>;
  search(alias: string | string[], body: JsonObject): Promise<SearchResult>;
  /** A search built from validated parts (the API's only way to query). */
  searchPage(request: SearchRequest): Promise<SearchPage>;
  listTables(prefix: string): Promise<IndexedTable[]>;
  /** Every table's mapping in one call, without counting documents. */
  listTableMappings(prefix: string): Promise<TableMapping[]>;
  /** Documents in an alias/index (after a refresh, so recent writes count). */
  count(alias: string): Promise<number>;
  /** Every document of an alias in batches, with bounded memory (scroll). */
  scanDocuments(alias: string, batchSize?: number): AsyncIterable<SearchHit[]>;
  /**
   * Creates a document view's index and alias when the alias is missing, with these field
   * mappings (libs/document-views viewMapping) and `meta` in `_meta.searchsync` next to the
   * view's name. True when this call created it.
   */
  ensureViewIndex(
    names: ViewIndexNames,
    properties: JsonObject,
    meta: JsonObject,
    options?: ViewIndexOptions,
  ): Promise<boolean>;
  /** The views' indices of a prefix (`<prefix>-view.*`), by their `_meta`; never a table's. */
  listViews(prefix: string): Promise<IndexedView[]>;
  /**
   * Ids of the documents whose keyword `field` holds any of `values` (a terms query), page by
   * page in id order (search_after on the tie-break field). Sees refreshed documents only.
   * Throws SearchEngineNotFoundError when the alias does not exist.
   */
  idsWithTerms(
    alias: string,
    field: string,
    values: readonly string[],
    pageSize?: number,
  ): AsyncIterable<string[]>;
  /** As idsWithTerms, for the documents with a value of `field` starting with `prefix`. */
  idsWithPrefix(
    alias: string,
    field: string,
    prefix: string,
    pageSize?: number,
  ): AsyncIterable<string[]>;
  /** Makes every write finished so far searchable. */
  refresh(alias: string): Promise<void>;
  close(): Promise<void>;
}

/** One mapped field of a table: its dotted path, engine type and indexed sub-fields. */
export interface MappedField {
  name: string;
  /** The engine's type; `vector` for a column indexed as a k-NN vector. */
  type: string;
  /** Sub-fields by name with their type, e.g. `{ keyword: 'keyword' }` for text. */
  subFields: Record<string, string>;
  /** For a vector column: its dimensions, similarity and the field its copy is indexed in. */
  vector?: { dims: number; similarity: VectorSimilarity; field: string };
  /** The `nested` paths (arrays of objects of a view) the field lies in, outermost first. */
  nestedIn?: string[];
}

/** A table as its index mapping describes it; no document count (cheap to fetch). */
export interface TableMapping extends TableName {
  alias: string;
  /** The concrete index behind the alias. */
  index: string;
  fields: MappedField[];
  /** The index's `_meta.searchsync` (schema, table and whatever setTableMeta added). */
  meta: JsonObject;
}

export type FilterScalar = string | number | boolean;

/** A filter already validated against the mapping, on an engine field path. */
export type EngineFilter =
  | { kind: 'term'; field: string; value: FilterScalar; negate: boolean }
  | { kind: 'terms'; field: string; values: FilterScalar[] }
  | {
      kind: 'range';
      field: string;
      gt?: FilterScalar;
      gte?: FilterScalar;
      lt?: FilterScalar;
      lte?: FilterScalar;
    }
  | { kind: 'exists'; field: string; negate: boolean }
  /**
   * A timestamp range exact to the microsecond (docs/values.md): `field` is the `date`,
   * `exactField` its canonical-string keyword; bounds are 26-character UTC strings
   * (`timestampFilterBounds` in change-events turns gt/gte/lt/lte input into them).
   */
  | { kind: 'timestamp-range'; field: string; exactField: string; gte?: string; lt?: string }
  | { kind: 'prefix'; field: string; value: string };

export interface EngineSort {
  /** An engine field path, or `_score`. */
  field: string;
  order: 'asc' | 'desc';
}

export type BucketKeyFormat = 'raw' | 'string' | 'boolean';

export type EngineAggregation =
  | { name: string; type: 'terms'; field: string; size: number; keyFormat: BucketKeyFormat }
  | {
      name: string;
      type: 'range';
      field: string;
      ranges: { key?: string; from?: FilterScalar; to?: FilterScalar }[];
    }
  | { name: string; type: 'histogram'; field: string; interval: number; size: number }
  | {
      name: string;
      type: 'date_histogram';
      field: string;
      interval: string;
      calendar: boolean;
      size: number;
    }
  | { name: string; type: 'stats'; field: string }
  | { name: string; type: 'cardinality'; field: string };

/** A search built from validated parts only; adapters turn it into their DSL. */
export interface EngineKnn {
  field: string;
  vector: number[];
  k: number;
  /** Candidates each shard considers (HNSW's ef_search / num_candidates), at least k. */
  numCandidates: number;
}

export interface SearchRequest {
  /** Our own aliases, never user input. */
  indices: string[];
  /**
   * For many tables, whose names would not fit in a URL (engines cap the request line at 4 kB):
   * our own index pattern plus the exact concrete indices, which go into the body as a filter.
   */
  wideTarget?: { pattern: string; concreteIndices: string[] };
  text?: { query: string; fields: string[] };
  /**
   * The `k` documents nearest to `vector` in a vector copy field (MappedField.vector.field),
   * among those the filters admit. With `text` too, a hybrid query: documents matching either,
   * scored by the sum of both scores.
   */
  knn?: EngineKnn;
  filters: EngineFilter[];
  /**
   * Paths the indices map as `nested` (a view's arrays of objects): filters, text, sorts and
   * aggregations on their fields are wrapped so that they apply per element (nested-paths.ts).
   */
  nestedPaths?: string[];
  /** User sort; the adapter appends the tie-breakers that make paging stable. */
  sort: EngineSort[];
  searchAfter?: unknown[];
  size: number;
  /** `_source` includes; undefined means the whole document. */
  source?: string[];
  highlight?: { fields: string[] };
  aggregations?: EngineAggregation[];
  /** Upper bound of the exact total; beyond it the total is reported as `gte`. */
  trackTotalHitsUpTo: number;
  /** Engine-side time budget in milliseconds. */
  timeoutMs?: number;
}

export type AggregationResult =
  | { buckets: { key: string | number | boolean; count: number; from?: number; to?: number }[] }
  | { count: number; min: number | null; max: number | null; avg: number | null; sum: number }
  | { value: number };

export interface PageHit extends SearchHit {
  /** The alias of the table the hit came from. */
  index: string;
  /** Sort values of this hit: the search-after position after it. */
  sort: unknown[];
  highlight?: Record<string, string[]>;
}

export interface SearchPage {
  total: number;
  totalRelation: 'eq' | 'gte';
  tookMs: number;
  timedOut: boolean;
  hits: PageHit[];
  aggregations?: Record<string, AggregationResult>;
}
