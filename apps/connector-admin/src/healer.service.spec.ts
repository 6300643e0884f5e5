import type { AdminConfig } from '@searchsync/config';
import type { ConnectorBackend, ConnectorView } from '@searchsync/connect-client';
import { AdminMetrics } from './admin-metrics';
import { HealerService } from './healer.service';

function fakeBackend(states: () => ConnectorView[], clock: () => number = () => 0) {
  const restarts: { name: string; task: number | null }[] = [];
  /** When each task was restarted (the test's clock), by task id. */
  const restartedAt = new Map<number | null, number[]>();
  const note = (name: string, task: number | null) => {
    restarts.push({ name, task });
    restartedAt.set(task, [...(restartedAt.get(task) ?? []), clock()]);
    return Promise.resolve();
  };
  const backend = {
    kind: 'kafka-connect',
    capabilities: { restartTasks: true },
    list: () => Promise.resolve(states()),
    restart: (name: string) => note(name, null),
    restartTask: (name: string, task: number) => note(name, task),
  } as unknown as ConnectorBackend;
  return { backend, restarts, restartedAt };
}

/** The gaps between consecutive restart times. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

const config = {
  ADMIN_HEAL_INTERVAL_MS: 1000,
  ADMIN_HEAL_BACKOFF_MS: 1000,
  ADMIN_HEAL_BACKOFF_MAX_MS: 8000,
  ADMIN_HEAL_MAX_ATTEMPTS: 3,
} as AdminConfig;

const view = (task: string, tasks = 1): ConnectorView => ({
  name: 'c',
  type: 'source',
  state: 'RUNNING',
  tasks: Array.from({ length: tasks }, (_, id) => ({
    id,
    state: task,
    trace: task === 'FAILED' ? 'org.x.ConnectException: boom' : undefined,
  })),
});

describe('healer', () => {
  it('backs off exponentially up to the cap, never past it', async () => {
    let t = 0;
    const { backend, restartedAt } = fakeBackend(
      () => [view('FAILED')],
      () => t,
    );
    const patient: AdminConfig = { ...config, ADMIN_HEAL_MAX_ATTEMPTS: 12 };
    const healer = new HealerService(patient, backend, new AdminMetrics());
    const tick = 100;
    for (; t <= 200_000; t += tick) await healer.check(t);
    const times = restartedAt.get(0) ?? [];
    expect(times).toHaveLength(12);
    expect(times[0]).toBe(0); // the first restart is at once
    const waits = gaps(times);
    // Uncapped, the later waits would be 16 s, 32 s, …; capped, they stay at 8 s.
    expect(waits.every((w) => w <= 8000 + tick)).toBe(true);
    expect(waits.some((w) => w >= 8000 - tick)).toBe(true);
    // It grew: the longest wait is well past the first one's range (at most 1.4 · base).
    expect(Math.max(...waits)).toBeGreaterThan(2 * 1000);
  });

  it('jitters: tasks that failed together are not restarted in lock step', async () => {
    let t = 0;
    const { backend, restartedAt } = fakeBackend(
      () => [view('FAILED', 2)],
      () => t,
    );
    const healer = new HealerService(config, backend, new AdminMetrics());
    for (; t <= 60_000; t += 10) await healer.check(t);
    const first = restartedAt.get(0) ?? [];
    const second = restartedAt.get(1) ?? [];
    expect(first).toHaveLength(3);
    expect(second).toHaveLength(3);
    expect(first[0]).toBe(second[0]);
    expect(first).not.toEqual(second);
  });

  it('restarts a failed task with backoff, records events, and sees it recover', async () => {
    let state = 'FAILED';
    const { backend, restarts } = fakeBackend(() => [view(state)]);
    const healer = new HealerService(config, backend, new AdminMetrics());
    await healer.check(0);
    expect(restarts).toEqual([{ name: 'c', task: 0 }]);
    const due = new Date(
      /next attempt not before (\S+)/.exec(healer.eventsOf('c')[0].message)?.[1] ?? NaN,
    ).getTime();
    expect(due).toBeGreaterThanOrEqual(0);
    expect(due).toBeLessThanOrEqual(8000);
    await healer.check(due - 1); // within the backoff: no second restart
    expect(restarts).toHaveLength(1);
    await healer.check(due);
    expect(restarts).toHaveLength(2);
    state = 'RUNNING';
    await healer.check(due + 500);
    expect(healer.eventsOf('c').map((e) => e.kind)).toEqual([
      'recovered',
      'restart-requested',
      'restart-requested',
      'failure-detected',
    ]);
    expect(healer.eventsOf('c')[3].message).toContain('ConnectException');
  });

  it('gives up loudly after the last attempt', async () => {
    const { backend, restarts } = fakeBackend(() => [view('FAILED')]);
    const healer = new HealerService(config, backend, new AdminMetrics());
    for (let t = 0; t <= 60_000; t += 1000) await healer.check(t);
    expect(restarts).toHaveLength(3);
    expect(healer.eventsOf('c')[0]).toMatchObject({ kind: 'gave-up', attempt: 3 });
    expect(healer.gaveUp()).toEqual(['c#0']);
  });
});
