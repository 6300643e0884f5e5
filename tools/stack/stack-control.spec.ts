import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, waitUntil } from '@searchsync/retry';
import { readHeld, setHeld, StackControlError, writeHeld } from './stack-control';
import { StackPaths } from './stack-paths';
import { isAlive, readStackState } from './stack-state';
import { Supervisor, type ServiceSpec } from './supervisor';

/**
 * `./searchsync stop|start <part>` end to end, in one process. Jest's sandboxed `process` cannot
 * receive signals, so the notification calls what the stack runner's SIGUSR2 handler calls.
 */
describe('setHeld', () => {
  let root: string;
  let paths: StackPaths;
  let supervisor: Supervisor;
  let answering: boolean;
  const notify = (pid: number) => {
    expect(pid).toBe(process.pid);
    void supervisor.applyHolds(readHeld(paths));
  };
  const options = (timeoutMs: number) => ({ timeoutMs, notify });

  const pidFile = () => join(root, 'pids');
  const failFlag = () => join(root, 'fail');
  const pids = (): number[] =>
    existsSync(pidFile())
      ? readFileSync(pidFile(), 'utf8').split('\n').filter(Boolean).map(Number)
      : [];
  const state = () => readStackState(paths.stateFile)?.services.sleeper.state;

  const sleeper = (): ServiceSpec => ({
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
      const pid = supervisor.pidOf('sleeper');
      return Promise.resolve(answering && !!pid && existsSync(join(root, `ready-${pid}`)));
    },
    startTimeoutMs: 10_000,
    stopTimeoutMs: 2000,
  });

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'searchsync-control-'));
    paths = new StackPaths(root);
    mkdirSync(paths.logs, { recursive: true });
    mkdirSync(paths.run, { recursive: true });
    writeHeld(paths, new Set());
    answering = true;
    supervisor = new Supervisor(paths, () => undefined, { restartBaseMs: 100, healthPollMs: 20 });
    await supervisor.start(sleeper());
  });

  afterEach(async () => {
    await supervisor.stopAll();
    expect(pids().filter((pid) => isAlive(pid))).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });

  it('stops a part and starts it again', async () => {
    await setHeld(paths, 'sleeper', true, options(10_000));
    expect(state()).toBe('held');
    expect(readHeld(paths)).toEqual(new Set(['sleeper']));
    await setHeld(paths, 'sleeper', false, options(10_000));
    expect(state()).toBe('running');
    expect(readHeld(paths)).toEqual(new Set());
  });

  it('starts a part again that was stopped while a crash restart was under way', async () => {
    answering = false;
    process.kill(supervisor.pidOf('sleeper') as number, 'SIGKILL');
    await waitUntil(() => pids().length >= 2, 4000, 20);
    expect(pids()).toHaveLength(2);

    await setHeld(paths, 'sleeper', true, options(10_000));
    await sleep(300);
    expect(state()).toBe('held');
    answering = true;
    await setHeld(paths, 'sleeper', false, options(10_000));
    expect(state()).toBe('running');
  });

  it('says the part is being retried when it does not come up in time', async () => {
    await setHeld(paths, 'sleeper', true, options(10_000));
    writeFileSync(failFlag(), '');
    const error = await setHeld(paths, 'sleeper', false, options(1500)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackControlError);
    expect((error as Error).message).toMatch(
      /^sleeper did not become running within 1\.5s: it is restarting, \d+ restart\(s\), last exit \S+ code 3; the supervisor keeps retrying it with backoff; see \S+sleeper\.log$/,
    );
  });

  it('names the parts when asked for an unknown one', async () => {
    await expect(setHeld(paths, 'indexr', true, options(1000))).rejects.toThrow(
      'no part named "indexr"; parts: sleeper',
    );
  });

  it('says when the stack is not running', async () => {
    rmSync(paths.stateFile);
    await expect(setHeld(paths, 'sleeper', true, options(1000))).rejects.toThrow(
      'searchsync is not running (./searchsync up starts it)',
    );
  });
});
