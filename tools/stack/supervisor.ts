import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { StackPaths } from './stack-paths';
import { isAlive, writeStackState, type ServiceRecord, type StackState } from './stack-state';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Resolves true once the service answers. */
  healthy: () => Promise<boolean>;
  startTimeoutMs: number;
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  url?: string;
}

export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    reason: string,
    readonly logFile: string,
  ) {
    super(`${service} failed to start: ${reason}\n  log: ${logFile}\n${tail(logFile, 15)}`);
    this.name = 'ServiceStartError';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .map((line) => `  | ${line}`)
      .join('\n');
  } catch {
    return '';
  }
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess | null;
  record: ServiceRecord;
  startedAt: number;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * Starts services in order, waits for each to be healthy, restarts one that dies (with
 * backoff, counted in the state file) and stops them all in reverse order.
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;
  readonly state: StackState;

  constructor(
    private readonly paths: StackPaths,
    private readonly say: (line: string) => void,
  ) {
    this.state = {
      supervisorPid: process.pid,
      startedAt: new Date().toISOString(),
      phase: 'starting',
      message: 'starting',
      services: {},
    };
    this.save();
  }

  save(): void {
    writeStackState(this.paths.stateFile, this.state);
  }

  setPhase(phase: StackState['phase'], message: string): void {
    this.state.phase = phase;
    this.state.message = message;
    this.save();
  }

  private spawnChild(entry: Running): void {
    const { spec, record } = entry;
    const log = openSync(record.log, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd ?? this.paths.root,
      env: { ...process.env, ...spec.env, SEARCHSYNC_STACK_MARKER: this.paths.marker },
      stdio: ['ignore', log, log],
      // Own process group: Ctrl-C reaches the supervisor only, which stops children in order.
      detached: true,
      uid: spec.uid,
      gid: spec.gid,
    });
    closeSync(log);
    entry.child = child;
    entry.startedAt = Date.now();
    record.pid = child.pid ?? null;
    this.save();
    child.on('exit', (code, signal) => this.onExit(entry, child, code, signal));
  }

  private onExit(
    entry: Running,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (entry.child !== child) return;
    const { record, spec } = entry;
    record.lastExit = `${new Date().toISOString()} ${signal ? `signal ${signal}` : `code ${code}`}`;
    record.pid = null;
    entry.child = null;
    if (record.state === 'held') {
      this.save();
      return;
    }
    if (this.stopping || record.state === 'stopping') {
      record.state = 'stopped';
      this.save();
      return;
    }
    if (record.state === 'starting') {
      record.state = 'failed';
      this.save();
      return;
    }
    // A process that ran a while earns a fresh backoff.
    const ranMs = Date.now() - entry.startedAt;
    const attempt = ranMs > 60_000 ? 1 : record.restarts + 1;
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
    record.state = 'restarting';
    record.restarts += 1;
    this.save();
    this.say(
      `! ${spec.name} exited (${record.lastExit.split(' ')[1]} ${signal ?? code}); restarting in ${delay / 1000}s`,
    );
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = null;
      if (this.stopping || record.state === 'held') return;
      record.lastRestartAt = new Date().toISOString();
      this.spawnChild(entry);
      void this.waitHealthy(entry).then((ok) => {
        if (this.stopping) return;
        record.state = ok ? 'running' : 'restarting';
        this.save();
        this.say(
          ok
            ? `✓ ${spec.name} restarted`
            : `! ${spec.name} did not become healthy after restart; see ${record.log}`,
        );
      });
    }, delay);
  }

  private async waitHealthy(entry: Running): Promise<boolean> {
    const deadline = Date.now() + entry.spec.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.stopping) return false;
      if (!entry.child || entry.child.exitCode !== null) return false;
      try {
        if (await entry.spec.healthy()) return true;
      } catch {
        // not up yet
      }
      await sleep(500);
    }
    return false;
  }

  async start(spec: ServiceSpec): Promise<void> {
    const record: ServiceRecord = {
      pid: null,
      state: 'starting',
      restarts: 0,
      lastExit: null,
      lastRestartAt: null,
      log: this.paths.log(spec.name),
      url: spec.url,
    };
    this.state.services[spec.name] = record;
    const entry: Running = { spec, child: null, record, startedAt: Date.now(), restartTimer: null };
    this.running.set(spec.name, entry);
    const began = Date.now();
    this.say(`… starting ${spec.name}`);
    this.spawnChild(entry);
    const ok = await this.waitHealthy(entry);
    if (!ok) {
      const reason = entry.child
        ? `not healthy within ${Math.round(spec.startTimeoutMs / 1000)}s`
        : `exited (${record.lastExit ?? 'unknown'})`;
      record.state = 'failed';
      this.save();
      throw new ServiceStartError(spec.name, reason, record.log);
    }
    record.state = 'running';
    this.save();
    this.say(
      `✓ ${spec.name} up in ${((Date.now() - began) / 1000).toFixed(1)}s${spec.url ? ` — ${spec.url}` : ''}`,
    );
  }

  /** Stops every service in reverse start order; safe to call more than once. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    this.setPhase('stopping', 'stopping');
    const entries = [...this.running.values()].reverse();
    for (const entry of entries) {
      if (entry.restartTimer) clearTimeout(entry.restartTimer);
      await this.stopOne(entry);
    }
  }

  private async stopOne(entry: Running): Promise<void> {
    const { child, record, spec } = entry;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) {
      record.state = 'stopped';
      this.save();
      return;
    }
    record.state = 'stopping';
    this.save();
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(pid, spec.stopSignal ?? 'SIGTERM');
    const timeout = spec.stopTimeoutMs ?? 20_000;
    const finished = await Promise.race([
      exited.then(() => true),
      sleep(timeout).then(() => false),
    ]);
    if (!finished) {
      this.say(`! ${spec.name} did not stop within ${timeout / 1000}s; killing it`);
      signalGroup(pid, 'SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    }
    // Children of the service (same process group) go with it.
    signalGroup(pid, 'SIGKILL');
    record.state = 'stopped';
    record.pid = null;
    this.save();
    this.say(`✓ ${spec.name} stopped`);
  }

  private holds: Promise<void> = Promise.resolve();

  /**
   * Holds the named services down (stopped, not restarted) and releases every other held one
   * (started again and waited for). Calls are applied one after another.
   */
  applyHolds(held: ReadonlySet<string>): Promise<void> {
    this.holds = this.holds
      .then(() => this.reconcileHolds(held))
      .catch((error: Error) => {
        this.say(`! applying held services failed: ${error.message}`);
      });
    return this.holds;
  }

  private async reconcileHolds(held: ReadonlySet<string>): Promise<void> {
    for (const entry of this.running.values()) {
      if (this.stopping) return;
      const { record, spec } = entry;
      if (held.has(spec.name) && record.state !== 'held') {
        if (entry.restartTimer) clearTimeout(entry.restartTimer);
        entry.restartTimer = null;
        await this.stopOne(entry);
        record.state = 'held';
        record.heldSince = new Date().toISOString();
        this.save();
        this.say(`‖ ${spec.name} held down (./searchsync start ${spec.name} releases it)`);
      } else if (!held.has(spec.name) && record.state === 'held') {
        record.state = 'starting';
        record.heldSince = null;
        this.save();
        this.spawnChild(entry);
        const ok = await this.waitHealthy(entry);
        if (this.stopping) return;
        record.state = ok ? 'running' : 'restarting';
        this.save();
        this.say(
          ok
            ? `✓ ${spec.name} released and running`
            : `! ${spec.name} released but not healthy; see ${record.log}`,
        );
      }
    }
  }

  pidOf(name: string): number | null {
    const pid = this.running.get(name)?.child?.pid;
    return pid && isAlive(pid) ? pid : null;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
