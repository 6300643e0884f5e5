import { createHash } from 'node:crypto';
import type { DocumentValue } from '@searchsync/change-events';

/**
 * A row's primary-key values as PostgreSQL input text, one per key column in key order (null
 * for a null value): how keys are bound to the view queries (`unnest($1::<type>[], …)`).
 */
export type RowKey = readonly (string | null)[];

/**
 * A document id's key values as PostgreSQL input text (the inverse of `documentId`: the id
 * itself for a one-column key, the JSON array's values for a composite one); null when the id
 * cannot be a key of that many columns. Exact for the key types whose document value is their
 * input text (integers, text, uuid, dates, timestamps, numeric); not for bytea (base64).
 */
export function keyTextsFromDocumentId(id: string, keyCount: number): RowKey | null {
  if (keyCount === 1) return [id];
  try {
    const parsed = JSON.parse(id) as DocumentValue;
    if (!Array.isArray(parsed) || parsed.length !== keyCount) return null;
    return keyTextsFromValues(parsed);
  } catch {
    return null;
  }
}

/** Document values of key columns (e.g. of a change event's key) as PostgreSQL input text. */
export function keyTextsFromValues(values: readonly DocumentValue[]): RowKey {
  return values.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)));
}

/** Ids up to this length are in a ref as they are; longer ones by their hash. */
export const VIEW_REF_MAX_ID_LENGTH = 1000;

/**
 * The ref of one row (`<schema.table>:<document id>`) in a view document's refs field. An id
 * longer than VIEW_REF_MAX_ID_LENGTH is replaced by `sha256:<hex>` of it, so that a ref never
 * exceeds what the engine indexes as one keyword (a ref it did not index would find nothing).
 * The one function both sides use: the reader writing refs and the indexer looking them up.
 */
export function viewRef(table: string, id: string): string {
  const part =
    id.length > VIEW_REF_MAX_ID_LENGTH
      ? `sha256:${createHash('sha256').update(id).digest('hex')}`
      : id;
  return `${table}:${part}`;
}

/** The prefix every ref of a table's rows starts with (a truncate of the table). */
export const viewRefPrefix = (table: string): string => `${table}:`;
