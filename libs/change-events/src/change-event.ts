import type { ConnectSchema } from './connect-schema';
import type { DocumentValue } from './value-converter';

/** A table as named in PostgreSQL. */
export interface TableRef {
  schema: string;
  table: string;
}

interface SourcePosition {
  table: TableRef;
  /** Never decreases along one row's history (see sourceVersion); the engine's external version. */
  version: bigint;
  /** When the change happened in PostgreSQL (ms since epoch). */
  sourceTsMs: number;
}

export interface UpsertEvent extends SourcePosition {
  kind: 'upsert';
  op: 'read' | 'create' | 'update';
  id: string;
  document: { [column: string]: DocumentValue };
  /** Column schemas of the row, to derive index mappings from. */
  columns: ConnectSchema[];
}

export interface DeleteEvent extends SourcePosition {
  kind: 'delete';
  id: string;
}

export interface TruncateEvent extends SourcePosition {
  kind: 'truncate';
}

/** Records that carry no row change: tombstones after deletes. */
export interface SkipEvent {
  kind: 'skip';
  reason: 'tombstone';
}

export type ChangeEvent = UpsertEvent | DeleteEvent | TruncateEvent | SkipEvent;
