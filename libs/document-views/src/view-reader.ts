import type { Pool, PoolClient } from 'pg';
import { affectedRoots } from './affected-roots';
import { readViewDocuments, withRowSession, type ViewDocumentResult } from './view-documents';
import type { RowKey } from './view-keys';
import type { ViewPlan } from './view-plan';

/** What the refresh reads from PostgreSQL, as a port (the unit tests give it rows of their own). */
export interface ViewReader {
  /** The roots reaching these rows of `table` (`schema.table`) in the current state. */
  affectedRoots(table: string, keys: readonly RowKey[]): Promise<RowKey[]>;
  /** The documents of these roots (a delete for a root that does not exist), one snapshot. */
  readDocuments(keys: readonly RowKey[]): Promise<ViewDocumentResult[]>;
}

/** Hands out a reader for one piece of work (a refresh, a build) and releases it afterwards. */
export interface ViewReaderSource {
  withReader<T>(work: (reader: ViewReader) => Promise<T>): Promise<T>;
}

/** A pool, as far as a view needs one. */
export type ViewPool = Pick<Pool, 'connect'>;

/** The reader of one connection, with the row session settings already applied. */
export function clientViewReader(client: Pick<PoolClient, 'query'>, plan: ViewPlan): ViewReader {
  return {
    affectedRoots: (table, keys) => affectedRoots(client, plan, table, keys),
    readDocuments: (keys) => readViewDocuments(client, plan, keys),
  };
}

/**
 * Readers on one pooled connection per piece of work, the row session settings set once for
 * all its statements (withRowSession does not set them again inside) rather than per statement.
 */
export function poolViewReader(plan: ViewPlan, pool: ViewPool): ViewReaderSource {
  return {
    async withReader(work) {
      const client = await pool.connect();
      try {
        return await withRowSession(client, () => work(clientViewReader(client, plan)));
      } finally {
        client.release();
      }
    },
  };
}
