import { BackoffSchedule, retryPolicy } from './retry-policy';
import { sleep, waitUntil } from './sleep';

describe('BackoffSchedule', () => {
  it('grows towards the cap, never past it, and starts again after reset', () => {
    const schedule = new BackoffSchedule({ initialDelayMs: 10, maxDelayMs: 200 });
    const delays = Array.from({ length: 30 }, () => schedule.next());
    expect(delays.every((d) => d >= 0 && d <= 200)).toBe(true);
    expect(Math.max(...delays.slice(10))).toBeGreaterThan(Math.max(...delays.slice(0, 2)));
    schedule.reset();
    expect(schedule.next()).toBeLessThanOrEqual(200);
  });

  it('jitters: two schedules do not retry in lock step', () => {
    const a = new BackoffSchedule({ initialDelayMs: 100, maxDelayMs: 60_000 });
    const b = new BackoffSchedule({ initialDelayMs: 100, maxDelayMs: 60_000 });
    const first = Array.from({ length: 8 }, () => a.next());
    const second = Array.from({ length: 8 }, () => b.next());
    expect(first).not.toEqual(second);
  });
});

describe('retryPolicy', () => {
  it('retries retryable failures, then succeeds', async () => {
    let calls = 0;
    const policy = retryPolicy({
      initialDelayMs: 1,
      maxDelayMs: 2,
      maxRetries: 3,
      retryable: () => true,
    });
    const result = await policy.execute(() => {
      calls += 1;
      if (calls < 3) throw new Error('flaky');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('throws a non-retryable failure at once, and the last one after maxRetries', async () => {
    let calls = 0;
    const fatal = retryPolicy({
      initialDelayMs: 1,
      maxDelayMs: 2,
      maxRetries: 5,
      retryable: () => false,
    });
    await expect(
      fatal.execute(() => {
        calls += 1;
        throw new Error('bad request');
      }),
    ).rejects.toThrow('bad request');
    expect(calls).toBe(1);

    calls = 0;
    const bounded = retryPolicy({
      initialDelayMs: 1,
      maxDelayMs: 2,
      maxRetries: 2,
      retryable: () => true,
    });
    await expect(
      bounded.execute(() => {
        calls += 1;
        throw new Error(`down ${calls}`);
      }),
    ).rejects.toThrow('down 3');
    expect(calls).toBe(3);
  });
});

describe('sleep and waitUntil', () => {
  it('an aborted sleep returns early without throwing', async () => {
    const controller = new AbortController();
    const began = Date.now();
    setTimeout(() => controller.abort(), 20);
    await sleep(10_000, controller.signal);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('waitUntil says whether the condition held in time', async () => {
    let n = 0;
    expect(await waitUntil(() => ++n >= 3, 1_000, 1)).toBe(true);
    expect(await waitUntil(() => false, 30, 5)).toBe(false);
  });
});
