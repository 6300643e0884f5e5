/** A table's index whose table PostgreSQL no longer has, waiting to be removed. */
export interface DropWatch {
  schema: string;
  table: string;
  alias: string;
  /** When the table was first seen missing. */
  since: number;
  /** WAL position when it was first seen missing: the stream has delivered the drop past it. */
  lsn: string | null;
}

export interface IndexedTableRef {
  schema: string;
  table: string;
  alias: string;
}

export const tableKey = (t: { schema: string; table: string }): string => `${t.schema}.${t.table}`;

/**
 * Folds one look at the indexed tables and PostgreSQL's tables into the watches. A table is a
 * removal candidate only once it was missing on two passes in a row: one that is dropped and
 * created again in between (a migration recreating it) is present on the second look and kept.
 * Only tables of the synced schemas are judged: an index of another schema may belong to a
 * differently configured deployment, and is never ours to remove.
 */
export function observeTables(
  watches: ReadonlyMap<string, DropWatch>,
  indexed: IndexedTableRef[],
  present: ReadonlySet<string>,
  schemas: readonly string[],
  now: number,
  lsn: string | null,
): { watches: Map<string, DropWatch>; candidates: DropWatch[] } {
  const next = new Map<string, DropWatch>();
  const candidates: DropWatch[] = [];
  for (const table of indexed) {
    if (!schemas.includes(table.schema) || present.has(tableKey(table))) continue;
    const earlier = watches.get(table.alias);
    if (earlier) {
      next.set(table.alias, earlier);
      candidates.push(earlier);
    } else {
      next.set(table.alias, { ...table, since: now, lsn });
    }
  }
  return { watches: next, candidates };
}

/**
 * Removal waits until the stream is settled for the table — Debezium has confirmed WAL past the
 * drop and the indexer has applied every record of the table's topic — so a late change cannot
 * re-create the index after it is gone; or, when that cannot be known (connector or indexer
 * down), until the grace period has passed.
 */
export function readyToRemove(
  watch: DropWatch,
  settled: boolean,
  now: number,
  graceMs: number,
): boolean {
  return settled || now - watch.since >= graceMs;
}
