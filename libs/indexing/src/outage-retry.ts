import { Logger } from '@nestjs/common';
import { BackoffSchedule, sleep, type BackoffSettings } from '@searchsync/retry';
import { IndexerStoppingError, describeError, isRetryable } from './apply-errors';
import { engineOutage } from './engine-failure';
import type { IndexingMetrics } from './indexing-metrics';
import type { WriteBlocks } from './write-status';

/** What a batch is given by its consumer: whether it is still its own, and the heartbeat. */
export interface BatchControl {
  /** False once the batch is no longer ours (stopping, a rebalance): it ends uncommitted. */
  isRunning: () => boolean;
  /** Keeps the consumer's group membership; a failure means the batch is no longer ours. */
  heartbeat: () => Promise<void>;
}

/** Longest sleep between two heartbeats while a retry waits. */
const HEARTBEAT_STEP_MS = 1000;

/**
 * How the applier waits out outages: retried for as long as they last while the batch is still
 * its own, with the house backoff (jittered, see BackoffSchedule), heartbeating meanwhile, and
 * each waiting write reported for /health.
 */
export class OutageRetry {
  private readonly logger = new Logger('ChangeApplier');

  constructor(
    private readonly writes: WriteBlocks,
    private readonly metrics: Pick<IndexingMetrics, 'retries'>,
    private readonly backoff: BackoffSettings,
  ) {}

  /** The delays of one retry loop. */
  schedule(): BackoffSchedule {
    return new BackoffSchedule(this.backoff);
  }

  /**
   * Waits the schedule's next delay, heartbeating at least every second. Throws
   * IndexerStoppingError as soon as the batch is no longer ours.
   */
  async wait(schedule: BackoffSchedule, control: BatchControl): Promise<void> {
    const delay = schedule.next();
    let waited = 0;
    do {
      if (!control.isRunning()) throw new IndexerStoppingError();
      await control.heartbeat().catch((error: unknown) => {
        // A rebalance is under way or the membership is lost: the batch is no longer ours, so
        // it ends here uncommitted (and is redelivered) — never as a failure of some record.
        this.logger.warn(`heartbeat failed while waiting to retry: ${describeError(error)}`);
        throw new IndexerStoppingError(
          `heartbeat failed (${describeError(error)}); the batch will be redelivered`,
        );
      });
      const step = Math.min(HEARTBEAT_STEP_MS, delay - waited);
      if (step > 0) await sleep(step);
      waited += Math.max(step, 1);
    } while (waited < delay);
  }

  /**
   * Runs `work` until it succeeds or fails for a reason that is not an outage; outages (engine
   * or Kafka) are waited out, however long, while the batch is still ours.
   */
  async retrying<T>(control: BatchControl, work: () => Promise<T>): Promise<T> {
    const waiter = this.writes.waiter('call');
    const schedule = this.schedule();
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) await this.wait(schedule, control);
        try {
          return await work();
        } catch (error) {
          if (error instanceof IndexerStoppingError) throw error;
          const outage =
            engineOutage(error) ??
            (isRetryable(error) ? { transient: true, reason: describeError(error) } : null);
          if (!outage) throw error;
          waiter.failed(outage);
          this.metrics.retries.inc();
          this.logger.warn(`retrying after: ${outage.reason}`);
        }
      }
    } finally {
      waiter.done();
    }
  }
}
