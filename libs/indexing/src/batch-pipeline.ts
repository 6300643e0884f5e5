/** What the pipeline needs of a Kafka consumer: an offset commit. */
export type CommitOffset = (topic: string, partition: number, offset: string) => Promise<void>;

/**
 * How a batch keeps its place among its partition's batches in flight:
 * - `earlierIssued` settles once every earlier batch has finished its records (each of its writes
 *   sent, each of its truncates done): a batch writes nothing before, or an earlier truncate could
 *   replace the index generation after this batch's writes had landed in the old one;
 * - `issued` is this batch saying the same of itself;
 * - `earlierLanded` settles once every earlier batch is in the engine (or dead-lettered) — what a
 *   truncate or a TOAST restore waits for, since both read or replace what earlier changes wrote.
 */
export interface BatchOrder {
  earlierIssued: () => Promise<void>;
  issued: () => void;
  earlierLanded: () => Promise<void>;
}

export type ApplyBatch = (order: BatchOrder) => Promise<void>;

/** A later batch of a partition whose earlier batch failed: it is delivered again after it. */
export class EarlierBatchFailedError extends Error {
  constructor() {
    super('an earlier batch of this partition failed; this one is delivered again after it');
    this.name = 'EarlierBatchFailedError';
  }
}

interface Lane {
  /** Settles once every batch submitted so far has landed and been committed, in order. */
  tail: Promise<void>;
  /** Settles once every batch submitted so far has issued its writes (see BatchOrder). */
  issued: Promise<void>;
  /** Batches not yet committed, oldest first. */
  inFlight: Promise<void>[];
  /** The offset last committed: a commit never moves it back (e.g. after a rebalance). */
  committed: bigint;
}

/**
 * Applies the batches of each partition while the next ones are fetched, up to `depth` of them
 * at once, and commits their offsets strictly in order: a committed offset means every record
 * below it is in the engine or the dead-letter topic. Writes may land out of order — each carries
 * its change's version, so the newest wins whatever the order — only the commit must not.
 *
 * A batch that fails voids the ones after it (nothing of its partition is committed any more) and
 * is reported once through `onFailure`: the consumer is then re-created from the committed
 * offsets, so every record after the last commit is delivered again.
 */
export class BatchPipeline {
  private readonly lanes = new Map<string, Lane>();
  private closed = false;
  private failed = false;

  constructor(
    private readonly depth: number,
    private readonly commit: CommitOffset,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** False once closed or failed: new batches are refused, so nothing is started for nothing. */
  get accepting(): boolean {
    return !this.closed && !this.failed;
  }

  /** Whether batches in flight should still be finished (false once closed). */
  get open(): boolean {
    return !this.closed;
  }

  /**
   * Applies a batch whose last offset is `lastOffset` once fewer than `depth` batches of its
   * partition are in flight, and returns as soon as it has started.
   */
  async submit(
    topic: string,
    partition: number,
    lastOffset: string,
    apply: ApplyBatch,
  ): Promise<void> {
    const lane = this.lane(topic, partition);
    // Settled batches leave `inFlight` (rejected ones set `failed` first).
    while (lane.inFlight.length >= this.depth && !this.failed) {
      await lane.inFlight[0].catch(() => undefined);
    }
    const earlier = lane.tail;
    const earlierIssued = lane.issued;
    let markIssued!: () => void;
    const issued = new Promise<void>((resolve) => (markIssued = resolve));
    lane.issued = issued;
    const applied = apply({
      earlierIssued: () => earlierIssued,
      issued: markIssued,
      earlierLanded: () => earlier,
    });
    // Also when it fails before the end of its records: the batches after it must not wait.
    applied.then(markIssued, markIssued);
    const next = BigInt(lastOffset) + 1n;
    const done = (async () => {
      try {
        await earlier;
      } catch {
        throw new EarlierBatchFailedError();
      }
      await applied;
      if (this.failed || next <= lane.committed) return;
      await this.commit(topic, partition, next.toString());
      lane.committed = next;
    })();
    const leave = () => {
      lane.inFlight = lane.inFlight.filter((batch) => batch !== done);
    };
    void done.then(leave, (error: unknown) => {
      this.fail(error);
      leave();
    });
    lane.tail = done;
    lane.inFlight.push(done);
  }

  /** Refuses new batches and waits until those in flight have settled, committed or not. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.lanes.values()].flatMap((lane) => lane.inFlight));
  }

  private fail(error: unknown): void {
    if (error instanceof EarlierBatchFailedError || this.failed) return;
    this.failed = true;
    // Closing (a stop, a re-subscription) makes batches give up: that is no failure.
    if (!this.closed) this.onFailure(error);
  }

  private lane(topic: string, partition: number): Lane {
    const key = `${topic}\u0000${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), issued: Promise.resolve(), inFlight: [], committed: -1n };
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
