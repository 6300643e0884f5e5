import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@searchsync/retry';
import { readHeld, writeHeld } from './stack-control';
import { StackPaths } from './stack-paths';
import { isAlive, readStackState, type ServiceRecord } from './stack-state';
import { Supervisor, type ServiceSpec, type SupervisorTiming } from './supervisor';

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Supervisor', () => {
  let root: string;
  let paths: StackPaths;
  let supervisor: Supervisor | null;
  let lines: string[];
  /** Off: the service's health check fails, as a process that is up but not answering. */
  let answering: boolean;

  const pidFile = () => join(root, 'pids');
  const failFlag = () => join(root, 'fail');
  /** Every process the sleeper service ever started, in order. */
  const pids = (): number[] =>
    existsSync(pidFile())
      ? readFileSync(pidFile(), 'utf8').split('\n').filter(Boolean).map(Number)
      : [];
  const record = (): ServiceRecord | undefined => readStackState(paths.stateFile)?.services.sleeper;
  const alive = () => pids().filter((pid) => isAlive(pid));
  /** The waits the supervisor announced before its restarts, in ms, in order. */
  const restartWaits = (): number[] =>
    lines
      .map((line) => /; restarting in (\d+(?:\.\d+)?)s$/.exec(line)?.[1])
      .filter((wait): wait is string => wait !== undefined)
      .map((wait) => Math.round(Number(wait) * 1000));

  /**
   * A node process that records its pid, exits with code 3 at once while the fail flag exists,
   * and otherwise announces it is ready; healthy when the current process is ready and answering.
   */
  const sleeper = (overrides: Partial<ServiceSpec> = {}): ServiceSpec => ({
    name: 'sleeper',
    command: process.execPath,
    args: [
      '-e',
      `const fs = require('fs');
       fs.appendFileSync(${JSON.stringify(pidFile())}, process.pid + '\\n');
       if (fs.existsSync(${JSON.stringify(failFlag())})) process.exit(3);
       fs.writeFileSync(${JSON.stringify(root)} + '/ready-' + process.pid, '');
       setInterval(() => {}, 1000);`,
    ],
    healthy: () => {
      const pid = supervisor?.pidOf('sleeper');
      return Promise.resolve(answering && !!pid && existsSync(join(root, `ready-${pid}`)));
    },
    startTimeoutMs: 10_000,
    stopTimeoutMs: 2000,
    ...overrides,
  });

  const make = (timing: Partial<SupervisorTiming> = {}): Supervisor => {
    supervisor = new Supervisor(paths, (line) => lines.push(line), {
      restartBaseMs: 100,
      healthPollMs: 20,
      ...timing,
    });
    return supervisor;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'searchsync-supervisor-'));
    paths = new StackPaths(root);
    mkdirSync(paths.logs, { recursive: true });
    mkdirSync(paths.run, { recursive: true });
    supervisor = null;
    lines = [];
    answering = true;
  });

  afterEach(async () => {
    await supervisor?.stopAll();
    expect(alive()).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps a held service down, then starts it again on release', async () => {
    const supervisor = make();
    await supervisor.start(sleeper());
    const first = supervisor.pidOf('sleeper');
    expect(first).toBeGreaterThan(0);

    await supervisor.applyHolds(new Set(['sleeper']));
    expect(record()?.state).toBe('held');
    expect(record()?.heldSince).toBeTruthy();
    expect(isAlive(first)).toBe(false);
    // Longer than the first restart backoff: a held service is not restarted.
    await sleep(500);
    expect(record()?.state).toBe('held');
    expect(record()?.restarts).toBe(0);
    expect(supervisor.pidOf('sleeper')).toBeNull();

    await supervisor.applyHolds(new Set());
    expect(record()?.state).toBe('running');
    const second = supervisor.pidOf('sleeper');
    expect(second).toBeGreaterThan(0);
    expect(second).not.toBe(first);
  });

  it('still restarts a service that dies when it is not held', async () => {
    const supervisor = make();
    await supervisor.start(sleeper());
    const pid = supervisor.pidOf('sleeper') as number;
    process.kill(pid, 'SIGKILL');
    await waitFor('the restart', () => record()?.state === 'running' && pids().length === 2);
    expect(supervisor.pidOf('sleeper')).not.toBe(pid);
    expect(record()?.restarts).toBe(1);
    expect(record()?.lastExit).toMatch(/signal SIGKILL$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^! sleeper exited \(signal SIGKILL\); restarting in [\d.]+s$/),
    );
    // The first wait of the house backoff from 100 ms: jittered, at most 1.4 times it.
    expect(restartWaits()).toHaveLength(1);
    expect(restartWaits()[0]).toBeLessThanOrEqual(140);
    expect(lines).toContain('✓ sleeper restarted');
  });

  it('crash, then hold while the restart is pending, then release: running', async () => {
    // A wait of 1 s, the cap: the jittered first wait from 10 s is (almost) always past it, so
    // the restart stays pending long enough for the hold to come first.
    const supervisor = make({ restartBaseMs: 10_000, restartMaxMs: 1000 });
    await supervisor.start(sleeper());
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('the crash', () => record()?.state === 'restarting');

    await supervisor.applyHolds(new Set(['sleeper']));
    expect(record()?.state).toBe('held');
    // Past the backoff: the cancelled restart does not fire.
    await sleep(1300);
    expect(record()?.state).toBe('held');
    expect(pids()).toHaveLength(1);

    await supervisor.applyHolds(new Set());
    expect(record()?.state).toBe('running');
    expect(record()?.restarts).toBe(1);
    expect(alive()).toEqual([supervisor.pidOf('sleeper')]);
  });

  it('crash, restart under way, hold, release: running (the stuck "restarting" of 12:06)', async () => {
    const supervisor = make();
    await supervisor.start(sleeper());
    answering = false;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    // The restart has spawned a process and waits for it to answer.
    await waitFor('the restarted process', () => pids().length === 2 && alive().length === 1);
    expect(record()?.state).toBe('restarting');

    await supervisor.applyHolds(new Set(['sleeper']));
    expect(alive()).toEqual([]);
    // The abandoned health wait notices within one poll (500 ms by default); it must not touch
    // the held record.
    await sleep(700);
    expect(record()?.state).toBe('held');
    expect(lines.join('\n')).not.toContain('did not become healthy');

    answering = true;
    await supervisor.applyHolds(new Set());
    expect(record()?.state).toBe('running');
    await sleep(300);
    expect(record()?.state).toBe('running');
    expect(alive()).toEqual([supervisor.pidOf('sleeper')]);
    expect(pids()).toHaveLength(3);
  });

  it('a hold then a release while a restart still waits for health: running, one process', async () => {
    const supervisor = make();
    await supervisor.start(sleeper({ startTimeoutMs: 1500 }));
    answering = false;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('the restarted process', () => pids().length === 2 && alive().length === 1);

    // Both applied before the first restart's health wait has looked again.
    const hold = supervisor.applyHolds(new Set(['sleeper']));
    answering = true;
    await Promise.all([hold, supervisor.applyHolds(new Set())]);
    expect(record()?.state).toBe('running');
    const current = supervisor.pidOf('sleeper');
    // Past the first restart's health deadline: it neither stops nor relabels the new process.
    await sleep(1700);
    expect(record()?.state).toBe('running');
    expect(supervisor.pidOf('sleeper')).toBe(current);
    expect(alive()).toEqual([current]);
  });

  it('a release while a restart is pending lets that one restart run, and no other', async () => {
    // A pending restart of 500 ms (the cap; see above).
    const supervisor = make({ restartBaseMs: 10_000, restartMaxMs: 500 });
    await supervisor.start(sleeper());
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('the crash', () => record()?.state === 'restarting');

    // `./searchsync start sleeper` for a part that is not held: nothing to release.
    await supervisor.applyHolds(new Set());
    expect(record()?.state).toBe('restarting');
    await waitFor('the restart', () => record()?.state === 'running');
    const current = supervisor.pidOf('sleeper');
    await sleep(700);
    expect(supervisor.pidOf('sleeper')).toBe(current);
    expect(pids()).toHaveLength(2);
    expect(record()?.restarts).toBe(1);
  });

  it('a restart that never becomes healthy is stopped and retried with growing backoff, capped', async () => {
    const supervisor = make({ restartMaxMs: 250 });
    await supervisor.start(sleeper({ startTimeoutMs: 300, stopTimeoutMs: 1000 }));
    answering = false;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('five restarts', () => (record()?.restarts ?? 0) >= 5);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^! sleeper exited \(signal SIGKILL\); restarting in [\d.]+s$/),
        expect.stringMatching(/^! sleeper did not become healthy within 0\.3s after restart/),
        expect.stringMatching(/^! sleeper exited \(signal SIGTERM\); restarting in [\d.]+s$/),
      ]),
    );
    // From 100 ms, doubling on average: by the fourth or fifth wait it is at the cap, never past.
    const waits = restartWaits();
    expect(waits.length).toBeGreaterThanOrEqual(5);
    expect(waits[0]).toBeLessThanOrEqual(140);
    expect(Math.max(...waits)).toBe(250);
    // Every unhealthy attempt was stopped before the next one started.
    expect(alive().length).toBeLessThanOrEqual(1);

    answering = true;
    await waitFor('the service to answer', () => record()?.state === 'running');
    expect(lines).toContain('✓ sleeper restarted');
    expect(alive()).toEqual([supervisor.pidOf('sleeper')]);
  });

  it('a service that ran long enough before it died starts again from the first wait', async () => {
    const supervisor = make({ restartMaxMs: 250, freshBackoffAfterMs: 400 });
    await supervisor.start(sleeper({ startTimeoutMs: 300, stopTimeoutMs: 1000 }));
    answering = false;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('five restarts', () => (record()?.restarts ?? 0) >= 5);
    expect(Math.max(...restartWaits())).toBe(250);
    answering = true;
    await waitFor('the service to answer', () => record()?.state === 'running');

    await sleep(600); // healthy for longer than freshBackoffAfterMs
    const before = restartWaits().length;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('the next restart', () => restartWaits().length > before);
    expect(restartWaits()[before]).toBeLessThanOrEqual(140);
    await waitFor('the service to run', () => record()?.state === 'running');
  });

  it('a release whose process exits at once keeps retrying with backoff until it runs', async () => {
    const supervisor = make();
    await supervisor.start(sleeper());
    await supervisor.applyHolds(new Set(['sleeper']));
    writeFileSync(failFlag(), '');

    await supervisor.applyHolds(new Set());
    await waitFor('two failed attempts', () => (record()?.restarts ?? 0) >= 2);
    expect(record()?.state).not.toBe('held');
    expect(record()?.state).not.toBe('failed');
    expect(record()?.lastExit).toMatch(/code 3$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^! sleeper exited \(code 3\); restarting in [\d.]+s$/),
    );

    rmSync(failFlag());
    await waitFor('the service to run', () => record()?.state === 'running');
    expect(alive()).toEqual([supervisor.pidOf('sleeper')]);
  });

  it('a hold during start-up wins over the start, and a release starts it', async () => {
    const supervisor = make();
    answering = false;
    const starting = supervisor.start(sleeper());
    await waitFor('the process', () => alive().length === 1);

    await supervisor.applyHolds(new Set(['sleeper']));
    await expect(starting).resolves.toBeUndefined();
    expect(record()?.state).toBe('held');
    expect(alive()).toEqual([]);

    answering = true;
    await supervisor.applyHolds(new Set());
    expect(record()?.state).toBe('running');
  });

  it('still fails start-up when the process exits before it is healthy', async () => {
    const supervisor = make();
    writeFileSync(failFlag(), '');
    await expect(supervisor.start(sleeper())).rejects.toThrow(/sleeper failed to start: exited/);
    expect(record()?.state).toBe('failed');
    await sleep(300);
    expect(record()?.restarts).toBe(0);
    expect(pids()).toHaveLength(1);
  });

  it('stopping everything cancels a pending restart', async () => {
    // A pending restart of 300 ms (the cap; see above).
    const supervisor = make({ restartBaseMs: 10_000, restartMaxMs: 300 });
    await supervisor.start(sleeper());
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitFor('the crash', () => record()?.state === 'restarting');
    await supervisor.stopAll();
    await sleep(500);
    expect(record()?.state).toBe('stopped');
    expect(pids()).toHaveLength(1);
  });

  it('stores the held set in the run folder', () => {
    expect(readHeld(paths)).toEqual(new Set());
    writeHeld(paths, new Set(['indexer', 'postgres']));
    expect(readHeld(paths)).toEqual(new Set(['indexer', 'postgres']));
  });
});
