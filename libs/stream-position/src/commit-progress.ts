/**
 * What an indexer replica writes beside each offset it commits (Kafka's offset-commit metadata):
 * the PostgreSQL commit time of the newest change in the committed range, and which replica
 * applied it.
 * The admin reads it back with the committed offsets, so freshness comes from the data every
 * replica writes — not from scraping one replica's metrics — and it survives restarts.
 */
export interface CommitProgress {
  /** PostgreSQL commit time (ms, Debezium's source.ts_ms) of the newest change applied in the range. */
  newestRecordMs: number;
  /** When the commit was made (ms). */
  committedAtMs: number;
  /** The replica that applied it (its Kafka client id and host). */
  replica: string;
}

/** The format's version tag: readers skip metadata they do not know (another tool's commits). */
const FORMAT = 'searchsync/1';

/** Kafka's default `offset.metadata.max.bytes` is 4096; a replica name is cut well below. */
const MAX_REPLICA_LENGTH = 200;

export function encodeCommitProgress(progress: CommitProgress): string {
  return JSON.stringify({
    f: FORMAT,
    n: Math.trunc(progress.newestRecordMs),
    c: Math.trunc(progress.committedAtMs),
    r: progress.replica.slice(0, MAX_REPLICA_LENGTH),
  });
}

/** The progress a commit carries; null for commits without it (older indexers, other tools). */
export function decodeCommitProgress(metadata: string | null | undefined): CommitProgress | null {
  if (!metadata || !metadata.startsWith('{')) return null;
  try {
    const value = JSON.parse(metadata) as { f?: unknown; n?: unknown; c?: unknown; r?: unknown };
    if (value.f !== FORMAT || typeof value.n !== 'number' || typeof value.c !== 'number') {
      return null;
    }
    if (!Number.isFinite(value.n) || !Number.isFinite(value.c)) return null;
    return {
      newestRecordMs: value.n,
      committedAtMs: value.c,
      replica: typeof value.r === 'string' ? value.r : '',
    };
  } catch {
    return null;
  }
}

/**
 * Age in seconds of the newest change applied over a topic's partitions, from their commits'
 * metadata; null when no commit carries progress (nothing applied by a replica that writes it).
 */
export function freshnessSecondsOf(
  partitions: readonly { metadata?: string | null }[],
  nowMs: number,
): number | null {
  let newest: number | null = null;
  for (const partition of partitions) {
    const progress = decodeCommitProgress(partition.metadata);
    if (progress && (newest === null || progress.newestRecordMs > newest)) {
      newest = progress.newestRecordMs;
    }
  }
  return newest === null ? null : Math.max(0, (nowMs - newest) / 1000);
}
