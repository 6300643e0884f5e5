import type { ChangeEvent } from '@searchsync/change-events';
import { keyTextsFromDocumentId, type RowKey } from './view-keys';
import type { PlannedTable, ViewPlan } from './view-plan';

/**
 * What a batch of decoded change events touched in the tables views draw on: per table, the row
 * of every insert, update and delete, and whether the table was truncated. Debezium sends a
 * primary-key change as a delete of the old key followed by a create of the new one, so both
 * keys are here without looking at `before`. Only the keys matter: documents are re-read from
 * PostgreSQL, never built from the events.
 */

export interface ViewTableChanges {
  /** `schema.table` */
  table: string;
  /**
   * True when the batch truncated the table. Rows touched before the truncate are dropped (the
   * truncate's lookup covers them); rows touched after it are kept.
   */
  truncated: boolean;
  /**
   * Each touched row once: its document id (what refs hold) → its key as PostgreSQL input
   * text (what the SQL lookups bind), null when the id cannot be a key of the table's width.
   */
  rows: Map<string, RowKey | null>;
}

/** By `schema.table`. */
export type ViewChanges = ReadonlyMap<string, ViewTableChanges>;

/** Every table the plans draw on (roots, embedded and join tables), by `schema.table`. */
export function viewTablesOf(plans: readonly ViewPlan[]): Map<string, PlannedTable> {
  const tables = new Map<string, PlannedTable>();
  for (const plan of plans) {
    for (const node of plan.nodes) {
      tables.set(node.table.name, node.table);
      if (node.join?.kind === 'through') tables.set(node.join.table.name, node.join.table);
    }
  }
  return tables;
}

/**
 * The rows and truncates of the events on tables the plans draw on, in event order; events of
 * other tables and tombstones are left out.
 */
export function viewChanges(
  events: Iterable<ChangeEvent>,
  plans: readonly ViewPlan[],
): Map<string, ViewTableChanges> {
  const tables = viewTablesOf(plans);
  const changes = new Map<string, ViewTableChanges>();
  for (const event of events) {
    if (event.kind === 'skip') continue;
    const name = `${event.table.schema}.${event.table.table}`;
    const table = tables.get(name);
    if (!table) continue;
    let change = changes.get(name);
    if (!change) {
      change = { table: name, truncated: false, rows: new Map() };
      changes.set(name, change);
    }
    if (event.kind === 'truncate') {
      change.truncated = true;
      change.rows.clear();
      continue;
    }
    if (!change.rows.has(event.id)) {
      change.rows.set(event.id, keyTextsFromDocumentId(event.id, table.key.length));
    }
  }
  return changes;
}

/** Merges `more` into `into` (later changes after earlier ones), for changes gathered in parts. */
export function mergeViewChanges(
  into: Map<string, ViewTableChanges>,
  more: ViewChanges,
): Map<string, ViewTableChanges> {
  for (const [name, change] of more) {
    const current = into.get(name);
    if (!current || change.truncated) {
      into.set(name, { table: name, truncated: change.truncated, rows: new Map(change.rows) });
      continue;
    }
    for (const [id, key] of change.rows) if (!current.rows.has(id)) current.rows.set(id, key);
  }
  return into;
}
