import type { AdminConfig } from '@searchsync/config';
import type { ConnectorBackend, ConnectorView } from '@searchsync/connect-client';
import { AdminMetrics } from './admin-metrics';
import { healBackoffMs, HealerService } from './healer.service';

function fakeBackend(states: () => ConnectorView[]) {
  const restarts: { name: string; task: number | null }[] = [];
  const backend = {
    kind: 'kafka-connect',
    capabilities: { restartTasks: true },
    list: () => Promise.resolve(states()),
    restart: (name: string) => {
      restarts.push({ name, task: null });
      return Promise.resolve();
    },
    restartTask: (name: string, task: number) => {
      restarts.push({ name, task });
      return Promise.resolve();
    },
  } as unknown as ConnectorBackend;
  return { backend, restarts };
}

const config = {
  ADMIN_HEAL_INTERVAL_MS: 1000,
  ADMIN_HEAL_BACKOFF_MS: 1000,
  ADMIN_HEAL_BACKOFF_MAX_MS: 8000,
  ADMIN_HEAL_MAX_ATTEMPTS: 3,
} as AdminConfig;

const view = (task: string): ConnectorView => ({
  name: 'c',
  type: 'source',
  state: 'RUNNING',
  tasks: [
    { id: 0, state: task, trace: task === 'FAILED' ? 'org.x.ConnectException: boom' : undefined },
  ],
});

describe('healer', () => {
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 9].map((a) => healBackoffMs(a, 1000, 8000))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('restarts a failed task with backoff, records events, and sees it recover', async () => {
    let state = 'FAILED';
    const { backend, restarts } = fakeBackend(() => [view(state)]);
    const healer = new HealerService(config, backend, new AdminMetrics());
    await healer.check(0);
    expect(restarts).toEqual([{ name: 'c', task: 0 }]);
    await healer.check(500); // within the backoff: no second restart
    expect(restarts).toHaveLength(1);
    await healer.check(1000);
    expect(restarts).toHaveLength(2);
    state = 'RUNNING';
    await healer.check(1500);
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
