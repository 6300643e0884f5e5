import { retryPolicy } from '@searchsync/retry';

export interface RetrySchedule {
  /** Attempts in all, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * A dependency that is still starting (PostgreSQL, Kafka Connect, the search engine beside a
 * compose one-shot or a Helm hook): about two and a half minutes of attempts.
 */
export const DEPENDENCY_RETRY: RetrySchedule = {
  attempts: 30,
  initialDelayMs: 1000,
  maxDelayMs: 5000,
};

/** Runs `action` under the house retry policy, saying each retry and why. */
export async function retrying<T>(
  what: string,
  schedule: RetrySchedule,
  retryable: (error: Error) => boolean,
  say: (line: string) => void,
  action: () => Promise<T>,
): Promise<T> {
  const policy = retryPolicy({
    initialDelayMs: schedule.initialDelayMs,
    maxDelayMs: schedule.maxDelayMs,
    maxRetries: schedule.attempts - 1,
    retryable,
  });
  const listener = policy.onRetry((event) => {
    if ('error' in event)
      say(`${what}: ${event.error.message} — retrying (${event.attempt}/${schedule.attempts - 1})`);
  });
  try {
    return await policy.execute(() => action());
  } finally {
    listener.dispose();
  }
}
