import type { ViewConfig } from './view-config.types';

/**
 * The shape of `searchsync.yaml` once validated (docs/configuration.md). Every app reads the same
 * object; nothing here knows about the search engine or Debezium.
 */

/** Field types a column may be given instead of the one its PostgreSQL type maps to. */
export const FIELD_TYPES = ['text', 'keyword', 'vector'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * How vectors are compared for `knn`: pgvector's `<->` (l2), `<=>` (cosine) and `<#>` (inner
 * product), named the same on every engine.
 */
export const VECTOR_SIMILARITIES = ['l2', 'cosine', 'dot_product'] as const;
export type VectorSimilarity = (typeof VECTOR_SIMILARITIES)[number];

/** Dimensions a vector field may have: Elasticsearch indexes at most 4096. */
export const VECTOR_DIMS = { min: 1, max: 4096 } as const;

/** Per column: how it is searched. Values in `_source` never change. */
export interface FieldSettings {
  type?: FieldType;
  /** An analyzer the engine ships (built-in or language analyzer, e.g. `english`). */
  analyzer?: string;
  /** Analyzer for queries on this field; defaults to `analyzer`. */
  searchAnalyzer?: string;
  /** `type: vector`: the number of elements every vector of the column has. */
  dims?: number;
  /** `type: vector`: how `knn` compares vectors (default l2). */
  similarity?: VectorSimilarity;
}

/** Index settings of a table. `shards` needs a rebuild; `replicas` and `refresh` apply live. */
export interface IndexSettings {
  shards?: number;
  replicas?: number;
  /** Engine time value (`1s`, `500ms`) or `-1` (no periodic refresh). */
  refresh?: string;
}

export interface TableSettings {
  /** Columns kept out everywhere (never in Kafka, documents or the field catalogue). */
  exclude: string[];
  /** When set, only these columns (plus the primary key) are synced; the rest are excluded. */
  include: string[] | null;
  /** By column name. */
  fields: Record<string, FieldSettings>;
  index: IndexSettings;
}

/** Where a setting came from, for error messages and reports. */
export interface ConfigLocation {
  file: string;
  line: number;
}

export interface SearchsyncConfig {
  /** Files read, in order (empty when none exists: every table synced as it is). */
  files: string[];
  /** By `schema.table` (a bare `table` in the file means schema `public`). */
  tables: Map<string, TableSettings>;
  /** Where each table's section starts. */
  locations: Map<string, ConfigLocation>;
  /** Document views by name (`views:`); empty when the file has none. */
  views: Map<string, ViewConfig>;
}

/** No file: every table synced as it is. */
export const EMPTY_SEARCHSYNC_CONFIG: SearchsyncConfig = Object.freeze({
  files: [],
  tables: new Map<string, TableSettings>(),
  locations: new Map<string, ConfigLocation>(),
  views: new Map<string, ViewConfig>(),
});
