import { hostname } from 'node:os';
import { encodeCommitProgress } from '@searchsync/stream-position';

/**
 * Remembers, per partition, the newest PostgreSQL commit time of each applied batch until the offset that covers
 * it is committed, and turns it into the commit's metadata — the progress the admin reads for
 * freshness, whichever replica committed it. A commit covers every batch below its offset.
 */
export class CommitMetadata {
  private readonly pending = new Map<string, { next: bigint; newestMs: number }[]>();
  /**
   * The progress last committed per partition: a commit that covers no batch with a change
   * (tombstones only, or a late commit of a consumer being replaced) repeats it, because a commit
   * without metadata would erase it.
   */
  private readonly lastSent = new Map<string, string>();

  constructor(private readonly replica = `searchsync-indexer@${hostname()}/${process.pid}`) {}

  /** A batch whose commit will be `nextOffset` (its last offset + 1) was applied. */
  noteBatch(topic: string, partition: number, nextOffset: bigint, newestMs: number | null): void {
    if (newestMs === null) return;
    const lane = laneOf(topic, partition);
    const batches = this.pending.get(lane) ?? [];
    batches.push({ next: nextOffset, newestMs });
    this.pending.set(lane, batches);
  }

  /** The metadata of the commit of `offset`; forgets the batches that commit covers. */
  forCommit(topic: string, partition: number, offset: string, nowMs = Date.now()): string | null {
    const lane = laneOf(topic, partition);
    const batches = this.pending.get(lane) ?? [];
    const next = BigInt(offset);
    let newest: number | null = null;
    const rest = batches.filter((batch) => {
      if (batch.next > next) return true;
      newest = newest === null ? batch.newestMs : Math.max(newest, batch.newestMs);
      return false;
    });
    if (rest.length > 0) this.pending.set(lane, rest);
    else this.pending.delete(lane);
    if (newest === null) return this.lastSent.get(lane) ?? null;
    const metadata = encodeCommitProgress({
      newestRecordMs: newest,
      committedAtMs: nowMs,
      replica: this.replica,
    });
    this.lastSent.set(lane, metadata);
    return metadata;
  }

  /** A new consumer starts from the committed offsets: what was not committed is read again. */
  clear(): void {
    this.pending.clear();
  }
}

function laneOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
