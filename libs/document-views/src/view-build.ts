import { quoteIdent } from '@searchsync/change-events';
import type { PoolClient } from 'pg';
import {
  readViewDocuments,
  VIEW_READ_BATCH,
  withRowSession,
  type ViewDocumentResult,
} from './view-documents';
import type { RowKey } from './view-keys';
import type { ViewPlan } from './view-plan';
import type { ViewPool } from './view-reader';
import { tableSql } from './view-sql';

/**
 * The fill of a view's index (its initial build, or a rebuild's new generation): every root row,
 * page by page in key order (keyset pagination on the primary key: each page starts after the
 * last key of the one before, so a page costs the same at the end as at the start), each page's
 * documents read in one statement and handed to `write` before the next page is read.
 *
 * Pages are read in separate snapshots, each document with its own snapshot's version: changes
 * committed meanwhile reach the new generation through the refresh, whose versions are as new
 * or newer, so whichever is written last, the newer read wins.
 */

export interface ViewBuildProgress {
  /** Root rows read so far. */
  rows: number;
  /** PostgreSQL's estimate of the root table's rows (pg_class.reltuples), null when unknown. */
  estimate: number | null;
  batches: number;
}

export interface ViewBuildResult {
  rows: number;
  /** Documents among the results handed to `write`. */
  written: number;
  /** Roots gone between their page and their read (deletes among the results). */
  deleted: number;
  /** Results that could not become documents (`error`), to dead-letter from the batches. */
  failed: number;
  batches: number;
  durationMs: number;
}

export interface ViewBuildOptions {
  /** Roots per page; VIEW_READ_BATCH. */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Writes one page's results: the caller turns them into bulk actions for its target
 * (viewBulkActions) and dead-letters the failures (viewFailures).
 */
export type ViewBuildWrite = (results: ViewDocumentResult[]) => Promise<void>;

/** The keyset page statement: root keys as text (`k<i>`), after `$1…$n` unless it is the first. */
export function rootPageQuery(plan: ViewPlan, first: boolean): string {
  const table = plan.root.table;
  const columns = table.key.map((key) => `t.${quoteIdent(key)}`).join(', ');
  const keys = table.key.map((key, i) => `t.${quoteIdent(key)}::text as k${i}`).join(', ');
  const after = table.keyColumns.map((column, i) => `$${i + 1}::${column.sqlType}`).join(', ');
  const limit = `$${first ? 1 : table.key.length + 1}`;
  return (
    `select ${keys} from ${tableSql(table)} t` +
    (first ? '' : ` where (${columns}) > (${after})`) +
    ` order by ${columns} limit ${limit}`
  );
}

/**
 * reltuples of the table, or of its leaf partitions summed (a partitioned table has none of its
 * own); -1 (never vacuumed or analysed) counts as unknown.
 */
const ESTIMATE_SQL = `
  with t as (select $1::regclass as oid),
  leaves as (
    select p.relid as oid from t, pg_partition_tree(t.oid) p where p.isleaf
    union all
    select t.oid from t join pg_class c on c.oid = t.oid where c.relkind <> 'p')
  select sum(c.reltuples) filter (where c.reltuples >= 0)::float8 as estimate
    from leaves join pg_class c on c.oid = leaves.oid`;

async function rowEstimate(client: Pick<PoolClient, 'query'>, plan: ViewPlan) {
  const { rows } = await client.query<{ estimate: number | null }>(ESTIMATE_SQL, [
    tableSql(plan.root.table),
  ]);
  return rows[0]?.estimate ?? null;
}

/** The next page of root keys (PostgreSQL text) after `last` (null: the first page). */
async function rootPage(
  client: Pick<PoolClient, 'query'>,
  plan: ViewPlan,
  last: RowKey | null,
  size: number,
): Promise<RowKey[]> {
  const { rows } = await client.query<Record<string, string>>(
    rootPageQuery(plan, last === null),
    last === null ? [size] : [...last, size],
  );
  const width = plan.root.table.key.length;
  return rows.map((row) => Array.from({ length: width }, (_, i) => row[`k${i}`]));
}

/** Fills a view from every root row; see the file's comment. */
export async function buildView(
  plan: ViewPlan,
  pool: ViewPool,
  write: ViewBuildWrite,
  onProgress?: (progress: ViewBuildProgress) => void,
  options: ViewBuildOptions = {},
): Promise<ViewBuildResult> {
  const started = performance.now();
  const batchSize = Math.max(1, options.batchSize ?? VIEW_READ_BATCH);
  const counts = { rows: 0, written: 0, deleted: 0, failed: 0, batches: 0 };
  // One connection and one row session for the whole fill: a page's key texts are parsed back
  // under the settings they were printed with.
  const client = await pool.connect();
  try {
    await withRowSession(client, async () => {
      const estimate = await rowEstimate(client, plan);
      let last: RowKey | null = null;
      for (;;) {
        options.signal?.throwIfAborted();
        const keys = await rootPage(client, plan, last, batchSize);
        if (keys.length === 0) break;
        last = keys[keys.length - 1];
        const results = await readViewDocuments(client, plan, keys);
        await write(results);
        counts.rows += keys.length;
        counts.batches += 1;
        for (const result of results) {
          if (result.deleted) counts.deleted += 1;
          else if ('error' in result) counts.failed += 1;
          else counts.written += 1;
        }
        onProgress?.({ rows: counts.rows, estimate, batches: counts.batches });
        if (keys.length < batchSize) break;
      }
    });
  } finally {
    client.release();
  }
  return { ...counts, durationMs: Math.round(performance.now() - started) };
}
