/** What the pipeline needs of a Kafka consumer: an offset commit. */
export type CommitOffset = (topic: string, partition: number, offset: string) => Promise<void>;

/**
 * A batch is applied with this: `earlierLanded` settles once every earlier batch of its
 * partition is in the engine (or dead-lettered) — what a truncate or a TOAST restore must wait
 * for, since both read or replace what earlier changes wrote.
 */
export type ApplyBatch = (earlierLanded: () => Promise<void>) => Promise<void>;

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
   * Starts applying a batch whose last offset is `lastOffset`, then waits only while more than
   * `depth` batches of its partition are in flight.
   */
  async submit(
    topic: string,
    partition: number,
    lastOffset: string,
    apply: ApplyBatch,
  ): Promise<void> {
    const lane = this.lane(topic, partition);
    const earlier = lane.tail;
    const applied = apply(() => earlier);
    applied.catch(() => undefined);
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
    done.then(
      () => lane.inFlight.splice(lane.inFlight.indexOf(done), 1),
      (error: unknown) => this.fail(error),
    );
    lane.tail = done;
    lane.inFlight.push(done);
    while (lane.inFlight.length > this.depth && !this.failed) {
      await Promise.race([lane.inFlight[0], this.failure]).catch(() => undefined);
    }
  }

  /** Refuses new batches and waits until those in flight have settled, committed or not. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.lanes.values()].flatMap((lane) => lane.inFlight));
  }

  private failWith: (() => void) | null = null;
  /** Settles when a batch fails: a submit waiting on a full lane stops waiting. */
  private readonly failure = new Promise<void>((resolve) => (this.failWith = resolve));

  private fail(error: unknown): void {
    if (error instanceof EarlierBatchFailedError || this.failed) return;
    this.failed = true;
    this.failWith?.();
    // Closing (a stop, a re-subscription) makes batches give up: that is no failure.
    if (!this.closed) this.onFailure(error);
  }

  private lane(topic: string, partition: number): Lane {
    const key = `${topic}\u0000${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), inFlight: [], committed: -1n };
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
