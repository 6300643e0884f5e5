/**
 * What a rebuild reports about itself (GET /v1/tables/{table}/rebuild), and the pure rules that
 * move it along. The service does the I/O; this file only holds state and arithmetic.
 */

export type RebuildState =
  /** The new generation is created; the indexer starts writing each change to it too. */
  | 'starting'
  /** Debezium re-reads the table into the new generation (incremental snapshot). */
  | 'filling'
  /** The re-read is done; the indexer drains what Debezium sent up to its end. */
  | 'catching_up'
  /** The alias is being pointed at the new generation; the old one is dropped after a grace. */
  | 'swapping'
  /** The alias points at the new generation; the old one is dropped. */
  | 'completed'
  | 'failed';

export interface RebuildProgress {
  id: string;
  /** `schema.table`. */
  table: string;
  state: RebuildState;
  /** Why it runs: asked for, or the indexer's reason (a column type the index refuses). */
  reason: string;
  /** `automatic` when started by the admin itself. */
  trigger: 'request' | 'automatic';
  generation: number;
  index: string;
  /** Generations queries read until the swap. */
  previous: string[];
  startedAt: string;
  completedAt: string | null;
  /** Rows in PostgreSQL when it started (exact count). */
  rowsTotal: number | null;
  /** Documents written to the new generation so far (index operations, capped at the total). */
  rowsDone: number;
  /** Seconds left at the current rate; null until there is a rate. */
  etaSeconds: number | null;
  /** Documents per second into the new generation since the re-read began. */
  docsPerSecond: number | null;
  /** The Debezium incremental snapshot filling it. */
  resyncId: string | null;
  error: string | null;
}

/** Rows done and time left, from index operations counted since the fill began. */
export function fillProgress(
  progress: Pick<RebuildProgress, 'rowsTotal'>,
  indexedOperations: number,
  secondsSinceFillStart: number,
): Pick<RebuildProgress, 'rowsDone' | 'etaSeconds' | 'docsPerSecond'> {
  const total = progress.rowsTotal;
  // Changes streamed meanwhile are index operations too: never report more than all rows.
  const done = total === null ? indexedOperations : Math.min(indexedOperations, total);
  if (secondsSinceFillStart <= 0 || indexedOperations === 0) {
    return { rowsDone: done, etaSeconds: null, docsPerSecond: null };
  }
  const rate = indexedOperations / secondsSinceFillStart;
  const eta = total === null ? null : Math.max(0, Math.round((total - done) / rate));
  return { rowsDone: done, etaSeconds: eta, docsPerSecond: Math.round(rate) };
}

/** The `_meta.searchsync.rebuild` record a generation carries, so a restarted admin resumes it. */
export interface RebuildRecord {
  id: string;
  reason: string;
  trigger: RebuildProgress['trigger'];
  startedAt: string;
  rowsTotal: number | null;
  resyncId: string | null;
}

export function rebuildRecord(progress: RebuildProgress): RebuildRecord {
  return {
    id: progress.id,
    reason: progress.reason,
    trigger: progress.trigger,
    startedAt: progress.startedAt,
    rowsTotal: progress.rowsTotal,
    resyncId: progress.resyncId,
  };
}

/** A record read back from `_meta`, or null when it is not one of ours. */
export function parseRebuildRecord(value: unknown): RebuildRecord | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.startedAt !== 'string') return null;
  return {
    id: v.id,
    reason: typeof v.reason === 'string' ? v.reason : 'resumed',
    trigger: v.trigger === 'automatic' ? 'automatic' : 'request',
    startedAt: v.startedAt,
    rowsTotal: typeof v.rowsTotal === 'number' ? v.rowsTotal : null,
    resyncId: typeof v.resyncId === 'string' ? v.resyncId : null,
  };
}
