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

  it('starts around the initial delay, in whole milliseconds, and honours a small cap at once', () => {
    const firsts = Array.from({ length: 500 }, () =>
      new BackoffSchedule({ initialDelayMs: 1000, maxDelayMs: 60_000 }).next(),
    );
    expect(firsts.every((d) => Number.isInteger(d) && d >= 0 && d <= 1400)).toBe(true);
    const mean = firsts.reduce((a, b) => a + b, 0) / firsts.length;
    expect(mean).toBeGreaterThan(600);
    expect(mean).toBeLessThan(1100);

    const capped = new BackoffSchedule({ initialDelayMs: 1000, maxDelayMs: 300 });
    expect(Array.from({ length: 50 }, () => capped.next()).every((d) => d <= 300)).toBe(true);
  });

  it('keeps growing for long-running loops without overflowing past the cap', () => {
    const schedule = new BackoffSchedule({ initialDelayMs: 1000, maxDelayMs: 30_000 });
    const delays = Array.from({ length: 2000 }, () => schedule.next());
    expect(delays.every((d) => Number.isFinite(d) && d >= 0 && d <= 30_000)).toBe(true);
    expect(delays.slice(-100).every((d) => d === 30_000)).toBe(true);
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

describe('retryPolicy delays', () => {
  /** The waits of one execution that fails `failures` times, then succeeds. */
  async function waits(policy: ReturnType<typeof retryPolicy>, failures: number) {
    const delays: number[] = [];
    const listener = policy.onRetry(({ delay }) => delays.push(delay));
    let calls = 0;
    await policy.execute(() => {
      calls += 1;
      if (calls <= failures) throw new Error('flaky');
      return calls;
    });
    listener.dispose();
    return delays;
  }

  it('caps each wait at what doubling reaches before the last retry, by default', async () => {
    // initialDelayMs 2, maxRetries 4: never more than 2 · 2^3 = 16 ms.
    const four = retryPolicy({ initialDelayMs: 2, maxRetries: 4, retryable: () => true });
    const all: number[] = [];
    for (let run = 0; run < 20; run++) all.push(...(await waits(four, 4)));
    expect(all).toHaveLength(80);
    expect(Math.max(...all)).toBeLessThanOrEqual(16);

    // One retry: capped at initialDelayMs, which the jittered first wait exceeds in about 40 %
    // of runs when uncapped; 40 runs all within it is the cap at work.
    const one = retryPolicy({ initialDelayMs: 1, maxRetries: 1, retryable: () => true });
    const firsts: number[] = [];
    for (let run = 0; run < 40; run++) firsts.push(...(await waits(one, 1)));
    expect(firsts).toHaveLength(40);
    expect(Math.max(...firsts)).toBeLessThanOrEqual(1);
  });

  it('takes an explicit cap, and starts each execution from the first delay again', async () => {
    const policy = retryPolicy({
      initialDelayMs: 50,
      maxDelayMs: 5,
      maxRetries: 3,
      retryable: () => true,
    });
    const delays = await waits(policy, 3);
    expect(delays).toHaveLength(3);
    expect(delays.every((d) => d <= 5)).toBe(true);

    const growing = retryPolicy({
      initialDelayMs: 1,
      maxDelayMs: 1000,
      maxRetries: 1,
      retryable: () => true,
    });
    const firsts: number[] = [];
    for (let run = 0; run < 20; run++) firsts.push(...(await waits(growing, 1)));
    // A fresh execution's first wait is about initialDelayMs, not where the last one left off.
    expect(firsts.every((d) => d <= 1.4)).toBe(true);
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
