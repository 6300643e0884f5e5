import {
  ExponentialBackoff,
  decorrelatedJitterGenerator,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type RetryPolicy,
} from 'cockatiel';

/** What `retryPolicy` returns; named here so that callers need not import cockatiel. */
export type { RetryPolicy };

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
 * batch written again while heartbeating, a process or a connector task restarted): `next()` is
 * the wait before the next attempt, in whole milliseconds (they end up in log lines), `reset()`
 * after a success starts again from the first delay.
 */
export class BackoffSchedule {
  private current: IBackoff<unknown> | null = null;
  private readonly factory: IBackoffFactory<unknown>;

  constructor(readonly settings: BackoffSettings) {
    this.factory = backoffFactory(settings);
  }

  next(): number {
    this.current = (this.current ?? this.factory).next(undefined);
    return Math.round(this.current.duration);
  }

  reset(): void {
    this.current = null;
  }
}

export interface RetryOptions {
  /** The first retry waits about this long. */
  initialDelayMs: number;
  /**
   * No single wait is longer. Default: the wait a plain doubling would reach before the last
   * retry (`initialDelayMs · 2^(maxRetries-1)`), so that a retry budget written as "attempts
   * and a first delay" keeps the worst case it had.
   */
  maxDelayMs?: number;
  /** Retries after the first attempt; 0 runs it once. */
  maxRetries: number;
  /** Whether a failure is worth another attempt; others are thrown at once. */
  retryable: (error: Error) => boolean;
}

/**
 * A policy that runs an operation and retries its retryable failures with the house backoff.
 * The last failure is thrown as it is. cockatiel 3 hands `execute(fn, signal)`'s signal to `fn`
 * but does not cut a backoff wait short: loops that must stop at once on shutdown use
 * BackoffSchedule with `sleep(ms, signal)` instead.
 */
export function retryPolicy(options: RetryOptions): RetryPolicy {
  const maxRetries = Math.max(0, Math.floor(options.maxRetries));
  return retry(
    handleWhen((error) => options.retryable(error)),
    {
      maxAttempts: maxRetries,
      backoff: backoffFactory({
        initialDelayMs: options.initialDelayMs,
        maxDelayMs: options.maxDelayMs ?? defaultMaxDelayMs(options.initialDelayMs, maxRetries),
      }),
    },
  );
}

/** `initialDelayMs · 2^(maxRetries-1)`, never below the first delay (exponent bounded). */
function defaultMaxDelayMs(initialDelayMs: number, maxRetries: number): number {
  return initialDelayMs * 2 ** Math.min(Math.max(maxRetries - 1, 0), 20);
}
