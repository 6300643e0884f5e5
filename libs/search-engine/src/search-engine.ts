import type { TableIndexNames, TableName } from './table-index';

export type JsonObject = { [key: string]: unknown };

export type BulkAction =
  | { type: 'index'; index: string; id: string; version: bigint; document: JsonObject }
  | { type: 'delete'; index: string; id: string; version: bigint };

export interface BulkItemResult {
  status: number;
  /** Applied, or already superseded by a newer version (counted, not a failure). */
  outcome: 'applied' | 'stale' | 'retryable' | 'rejected';
  reason?: string;
}

export interface EngineInfo {
  distribution: 'opensearch' | 'elasticsearch';
  version: string;
}

export interface IndexedTable extends TableName {
  alias: string;
  documents: number;
  fields: { name: string; type: string }[];
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
  /** Creates the table's index and alias when missing, with these field mappings. */
  ensureTableIndex(names: TableIndexNames, properties: JsonObject): Promise<void>;
  /** Adds field mappings to an existing index (new columns). */
  extendMapping(alias: string, properties: JsonObject): Promise<void>;
  bulk(actions: BulkAction[]): Promise<BulkItemResult[]>;
  deleteAllDocuments(alias: string): Promise<number>;
  getDocument(alias: string, id: string): Promise<JsonObject | null>;
  search(alias: string | string[], body: JsonObject): Promise<SearchResult>;
  listTables(prefix: string): Promise<IndexedTable[]>;
  /** Documents in an alias/index (after a refresh, so recent writes count). */
  count(alias: string): Promise<number>;
  /** Every document of an alias in batches, with bounded memory (scroll). */
  scanDocuments(alias: string, batchSize?: number): AsyncIterable<SearchHit[]>;
  close(): Promise<void>;
}
