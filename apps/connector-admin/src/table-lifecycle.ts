import { tableIndexNames, type TableName } from '@searchsync/search-engine';

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

/** What the engine lists under the prefix: an index's alias and its `_meta.searchsync`. */
export interface MappingRef {
  alias: string;
  meta: Record<string, unknown>;
}

export const tableKey = (t: { schema: string; table: string }): string => `${t.schema}.${t.table}`;

/**
 * A table's `_meta` names its schema and table and nothing else of a kind: a view's (or any
 * future non-table index's) documents are not a PostgreSQL table's, and its name is no evidence
 * that anything was dropped.
 */
function tableOfMeta(meta: Record<string, unknown>): TableName | null {
  const { schema, table, kind, view } = meta;
  if (typeof schema !== 'string' || typeof table !== 'string') return null;
  if (kind !== undefined && kind !== 'table') return null;
  if (view !== undefined) return null;
  return { schema, table };
}

/**
 * The indexed tables that are ours to judge. `${prefix}.*` also matches another deployment's
 * dotted prefix (`searchsync.staging.*`), whose `_meta` names a table of *its* database; an index
 * counts only when its alias is exactly the one this prefix gives its own `_meta` table.
 */
export function ownTables(prefix: string, mappings: readonly MappingRef[]): IndexedTableRef[] {
  const byAlias = new Map<string, IndexedTableRef>();
  for (const mapping of mappings) {
    const name = tableOfMeta(mapping.meta);
    if (!name || byAlias.has(mapping.alias)) continue;
    if (tableIndexNames(prefix, name).alias !== mapping.alias) continue;
    byAlias.set(mapping.alias, { ...name, alias: mapping.alias });
  }
  return [...byAlias.values()];
}

/**
 * Aliases are lower-cased, so `"Orders"` and `orders` (or `a."b.c"` and `"a.b".c`) share one; a
 * table that still exists under any of them keeps the alias's documents.
 */
export function aliasesInUse(prefix: string, present: Iterable<TableName>): Set<string> {
  const aliases = new Set<string>();
  for (const table of present) aliases.add(tableIndexNames(prefix, table).alias);
  return aliases;
}

/** The indexed tables of the synced schemas that PostgreSQL no longer has under any alias. */
export function missingTables(
  indexed: readonly IndexedTableRef[],
  present: ReadonlySet<string>,
  inUse: ReadonlySet<string>,
  schemas: readonly string[],
): IndexedTableRef[] {
  return indexed.filter(
    (t) => schemas.includes(t.schema) && !present.has(tableKey(t)) && !inUse.has(t.alias),
  );
}

/**
 * Why this pass's missing tables look like the wrong database rather than dropped tables
 * (a restore in progress, an empty or other database, a catalogue read that returned nothing);
 * null when they look like ordinary drops. A count or share of tables is no guard: a migration
 * may drop many tables at once, and a refusal would stay for as long as they are missing, so
 * no other drop would ever be cleaned up again. The database's identity and the slot's progress
 * (checked before each pass) and a whole schema gone are what tell a wrong database.
 */
export function massMissingReason(
  missing: readonly IndexedTableRef[],
  indexed: readonly IndexedTableRef[],
  presentPerSchema: ReadonlyMap<string, number>,
  schemas: readonly string[],
): string | null {
  if (missing.length === 0) return null;
  const judged = indexed.filter((t) => schemas.includes(t.schema));
  for (const schema of new Set(missing.map((t) => t.schema))) {
    if ((presentPerSchema.get(schema) ?? 0) === 0) {
      return `PostgreSQL has no table at all in schema ${schema}`;
    }
    const ofSchema = judged.filter((t) => t.schema === schema).length;
    const gone = missing.filter((t) => t.schema === schema).length;
    if (ofSchema > 1 && gone === ofSchema) {
      return `every indexed table of schema ${schema} (${ofSchema}) is missing at once`;
    }
  }
  return null;
}

/**
 * Folds one look at the missing tables into the watches. A table is a removal candidate only
 * once it was missing on two passes in a row: one that is dropped and created again in between
 * (a migration recreating it) is present on the second look and kept.
 */
export function observeTables(
  watches: ReadonlyMap<string, DropWatch>,
  missing: readonly IndexedTableRef[],
  now: number,
  lsn: string | null,
): { watches: Map<string, DropWatch>; candidates: DropWatch[] } {
  const next = new Map<string, DropWatch>();
  const candidates: DropWatch[] = [];
  for (const table of missing) {
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

/** What the stream says about a watched table. */
export interface StreamEvidence {
  /**
   * The connector's slot, in this database, confirmed WAL at or past the watch's LSN; null when
   * the slot could not be read.
   */
  slotPastDrop: boolean | null;
  /** The indexer group's lag on the table's topic; null when the topic was not found. */
  topicLag: number | null;
}

/**
 * What removal still waits for; empty when it may go. Removal needs positive evidence that the
 * stream is settled — Debezium has confirmed WAL past the drop and the indexer has applied every
 * record of the table's topic — so that no late change re-creates the index. Time alone never
 * suffices: a table can look missing for reasons that are not a drop, and those go on for ever.
 */
export function waitingFor(watch: DropWatch, evidence: StreamEvidence): string[] {
  const waits: string[] = [];
  if (!watch.lsn) waits.push('no WAL position was recorded when the table went missing');
  else if (evidence.slotPastDrop !== true) {
    waits.push(`the replication slot to confirm WAL past ${watch.lsn}`);
  }
  if (evidence.topicLag === null) waits.push("the table's topic (not found)");
  else if (evidence.topicLag > 0) {
    waits.push(`the indexer to consume ${evidence.topicLag} record(s) of the table's topic`);
  }
  return waits;
}

/** A watch older than the grace period is reported (loudly) as stuck; it is still not removed. */
export function overdue(watch: DropWatch, now: number, graceMs: number): boolean {
  return now - watch.since >= graceMs;
}
