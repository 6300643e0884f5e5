import {
  ExponentialBackoff,
  decorrelatedJitterGenerator,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type RetryPolicy,
} from 'cockatiel';

/**
 * The one backoff shape of searchsync: exponential from `initialDelayMs`, capped at
 * `maxDelayMs`, with decorrelated jitter (cockatiel's default, Polly's battle-tested choice) so
 * that replicas failing together do not retry together.
 */
export interface BackoffSettings {
  initialDelayMs: number;
  maxDelayMs: number;
}

function backoffFactory(settings: BackoffSettings): IBackoffFactory<unknown> {
  return new ExponentialBackoff({
    generator: decorrelatedJitterGenerator,
    initialDelay: settings.initialDelayMs,
    maxDelay: settings.maxDelayMs,
  });
}

/**
 * A sequence of retry delays for loops that retry on their own terms (a consumer re-created, a
 * batch written again while heartbeating): `next()` is the wait before the next attempt,
 * `reset()` after a success starts again from the first delay.
 */
export class BackoffSchedule {
  private current: IBackoff<unknown> | null = null;
  private readonly factory: IBackoffFactory<unknown>;

  constructor(readonly settings: BackoffSettings) {
    this.factory = backoffFactory(settings);
  }

  next(): number {
    this.current = (this.current ?? this.factory).next(undefined);
    return this.current.duration;
  }

  reset(): void {
    this.current = null;
  }
}

export interface RetryOptions extends BackoffSettings {
  /** Retries after the first attempt; 0 runs it once. */
  maxRetries: number;
  /** Whether a failure is worth another attempt; others are thrown at once. */
  retryable: (error: Error) => boolean;
}

/**
 * A policy that runs an operation and retries its retryable failures with the house backoff;
 * `execute(fn, signal)` stops waiting when the signal aborts. The last failure is thrown as it is.
 */
export function retryPolicy(options: RetryOptions): RetryPolicy {
  return retry(
    handleWhen((error) => options.retryable(error)),
    { maxAttempts: options.maxRetries, backoff: backoffFactory(options) },
  );
}
