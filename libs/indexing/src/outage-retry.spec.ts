import { Logger } from '@nestjs/common';
import type { BackoffSchedule } from '@searchsync/retry';
import { SearchEngineRequestError, SearchEngineUnavailableError } from '@searchsync/search-engine';
import { IndexerStoppingError } from './apply-errors';
import { CountingMetrics } from './indexing-metrics';
import { OutageRetry } from './outage-retry';
import { WriteBlocks } from './write-status';

describe('OutageRetry', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  const setup = (maxDelayMs = 4) => {
    const metrics = new CountingMetrics();
    const writes = new WriteBlocks();
    const retry = new OutageRetry(writes, metrics, { initialDelayMs: 1, maxDelayMs });
    return { metrics, writes, retry };
  };

  it('waits out outages, heartbeating, until the work succeeds', async () => {
    const { metrics, writes, retry } = setup();
    let calls = 0;
    let heartbeats = 0;
    const result = await retry.retrying(
      { isRunning: () => true, heartbeat: () => Promise.resolve(void (heartbeats += 1)) },
      () => {
        calls += 1;
        if (calls < 4) throw new SearchEngineUnavailableError('search engine answered 503', 503);
        return Promise.resolve('done');
      },
    );
    expect(result).toBe('done');
    expect(metrics.retries.get()).toBe(3);
    expect(heartbeats).toBeGreaterThanOrEqual(3);
    expect(writes.status()).toEqual({ blocked: false });
  });

  it('throws a failure that is no outage at once', async () => {
    const { retry } = setup();
    let calls = 0;
    const refused = new SearchEngineRequestError('mapper_parsing_exception', 400);
    await expect(
      retry.retrying({ isRunning: () => true, heartbeat: () => Promise.resolve() }, () => {
        calls += 1;
        return Promise.reject(refused);
      }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives the batch up, uncommitted, once it is no longer running or its heartbeat fails', async () => {
    const { retry } = setup();
    const down = () => Promise.reject(new SearchEngineUnavailableError('unreachable'));
    await expect(
      retry.retrying({ isRunning: () => false, heartbeat: () => Promise.resolve() }, down),
    ).rejects.toBeInstanceOf(IndexerStoppingError);
    await expect(
      retry.retrying(
        { isRunning: () => true, heartbeat: () => Promise.reject(new Error('rebalancing')) },
        down,
      ),
    ).rejects.toThrow(/heartbeat failed \(rebalancing\)/);
  });

  it('heartbeats at least every second of a long wait', async () => {
    const { retry } = setup(1500);
    // A delay of 1.5 s exactly (a real schedule's is random).
    const schedule = { next: () => 1500 } as unknown as BackoffSchedule;
    let heartbeats = 0;
    await retry.wait(schedule, {
      isRunning: () => true,
      heartbeat: () => Promise.resolve(void (heartbeats += 1)),
    });
    expect(heartbeats).toBe(2);
  });
});
