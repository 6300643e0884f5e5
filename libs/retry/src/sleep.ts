import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits `ms`; with a signal, returns early (without throwing) when it aborts — shutdown must
 * not wait out a backoff, nor turn into an error.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
}

/**
 * Polls `done` every `intervalMs` until it holds or `timeoutMs` passes; whether it held.
 */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), signal);
  }
}
