/** Prefix of the snapshot signals sent when a table enters the publication holding rows. */
export const ADDITION_SIGNAL_PREFIX = 'publication-add-';

/** Retries made for one table: how many, and when the last one was sent. */
export interface RetryRecord {
  count: number;
  at: number;
}

/** A snapshot's progress as the resync service folds Debezium's notifications. */
export interface SnapshotHandleView {
  id: string;
  table: string;
  scanStatus: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

/**
 * Tables whose addition snapshot Debezium skipped as UNKNOWN_SCHEMA: Debezium 3.6 cannot read
 * the schema of a table it has not met yet (created after the task started, never streamed) —
 * its schema-change event for it fails ("databaseName" null). A task restart makes it read every
 * table afresh, after which the signal succeeds. Only the latest addition snapshot of each table
 * counts, only recent ones (old notifications are replayed from the topic at boot), only tables
 * still published, and only a bounded number of attempts per table.
 */
export function tablesNeedingRetry(
  handles: SnapshotHandleView[],
  published: ReadonlySet<string>,
  attempts: ReadonlyMap<string, RetryRecord>,
  options: { now: number; windowMs: number; maxAttempts: number },
): string[] {
  const latest = new Map<string, SnapshotHandleView>();
  const at = (h: SnapshotHandleView) => h.completedAt ?? h.startedAt ?? '';
  for (const handle of handles) {
    if (!handle.id.startsWith(ADDITION_SIGNAL_PREFIX)) continue;
    const seen = latest.get(handle.table);
    if (!seen || at(handle) > at(seen)) latest.set(handle.table, handle);
  }
  const tables: string[] = [];
  for (const [table, handle] of latest) {
    if (handle.scanStatus !== 'UNKNOWN_SCHEMA' || !handle.completedAt) continue;
    if (options.now - Date.parse(handle.completedAt) > options.windowMs) continue;
    if (!published.has(table)) continue;
    const tried = attempts.get(table);
    if (tried && tried.count >= options.maxAttempts) continue;
    // Retried after this failure: its outcome has not arrived yet (unless it never will).
    const failedAt = Date.parse(handle.completedAt);
    if (tried && tried.at > failedAt && options.now - tried.at < options.windowMs) continue;
    tables.push(table);
  }
  return tables.sort();
}
