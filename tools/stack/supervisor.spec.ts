import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeld, writeHeld } from './stack-control';
import { StackPaths } from './stack-paths';
import { isAlive, readStackState } from './stack-state';
import { Supervisor, type ServiceSpec } from './supervisor';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Supervisor holds', () => {
  let root: string;
  let paths: StackPaths;
  let supervisor: Supervisor;

  const sleeper: ServiceSpec = {
    name: 'sleeper',
    command: process.execPath,
    args: ['-e', 'setInterval(() => {}, 1000)'],
    healthy: () => Promise.resolve(true),
    startTimeoutMs: 10_000,
    stopTimeoutMs: 500,
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'searchsync-supervisor-'));
    paths = new StackPaths(root);
    mkdirSync(paths.logs, { recursive: true });
    mkdirSync(paths.run, { recursive: true });
    supervisor = new Supervisor(paths, () => undefined);
  });

  afterEach(async () => {
    await supervisor.stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps a held service down, then starts it again on release', async () => {
    await supervisor.start(sleeper);
    const first = supervisor.pidOf('sleeper');
    expect(first).toBeGreaterThan(0);

    await supervisor.applyHolds(new Set(['sleeper']));
    let record = readStackState(paths.stateFile)?.services.sleeper;
    expect(record?.state).toBe('held');
    expect(record?.heldSince).toBeTruthy();
    expect(isAlive(first)).toBe(false);
    // Longer than the first restart backoff (1 s): a held service is not restarted.
    await sleep(1500);
    record = readStackState(paths.stateFile)?.services.sleeper;
    expect(record?.state).toBe('held');
    expect(record?.restarts).toBe(0);
    expect(supervisor.pidOf('sleeper')).toBeNull();

    await supervisor.applyHolds(new Set());
    record = readStackState(paths.stateFile)?.services.sleeper;
    expect(record?.state).toBe('running');
    const second = supervisor.pidOf('sleeper');
    expect(second).toBeGreaterThan(0);
    expect(second).not.toBe(first);
  });

  it('still restarts a service that dies when it is not held', async () => {
    await supervisor.start(sleeper);
    const pid = supervisor.pidOf('sleeper') as number;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (supervisor.pidOf('sleeper') ?? pid) === pid; i++) await sleep(100);
    expect(supervisor.pidOf('sleeper')).not.toBe(pid);
    expect(readStackState(paths.stateFile)?.services.sleeper.restarts).toBe(1);
  });

  it('stores the held set in the run folder', () => {
    expect(readHeld(paths)).toEqual(new Set());
    writeHeld(paths, new Set(['indexer', 'postgres']));
    expect(readHeld(paths)).toEqual(new Set(['indexer', 'postgres']));
  });
});
