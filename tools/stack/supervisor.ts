import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { BackoffSchedule, sleep } from '@searchsync/retry';
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

/** Resolves true when `promise` settles within `ms`, false otherwise; leaves no timer behind. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export interface SupervisorTiming {
  /**
   * Delay before the first restart; further consecutive failures wait longer (the house
   * backoff of @searchsync/retry: exponential, jittered), never more than restartMaxMs.
   */
  restartBaseMs: number;
  restartMaxMs: number;
  /** A service that was healthy this long before it died starts again from the first delay. */
  freshBackoffAfterMs: number;
  healthPollMs: number;
}

const DEFAULT_TIMING: SupervisorTiming = {
  restartBaseMs: 1000,
  restartMaxMs: 30_000,
  freshBackoffAfterMs: 60_000,
  healthPollMs: 500,
};

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
  /**
   * Bumped by every start, restart, hold and release. A health wait whose generation is no longer
   * current watched a process that a hold, release or stop has since taken over, so it must not
   * touch the record: before this, a restart's health wait that outlived a hold overwrote 'held'
   * with 'restarting', and nothing ever started the service again.
   */
  generation: number;
  /** During start(): an exit fails the stack's start-up instead of being restarted. */
  initial: boolean;
  /** When the current process last answered its health check; null while it has not. */
  healthySince: number | null;
  /** The waits between restarts after failed runs in a row; reset by a long healthy run. */
  backoff: BackoffSchedule;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * Starts services in order, waits for each to be healthy, restarts one that dies or does not
 * become healthy (with backoff, counted in the state file), holds one down on request and
 * stops them all in reverse order.
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private readonly timing: SupervisorTiming;
  readonly state: StackState;

  constructor(
    private readonly paths: StackPaths,
    private readonly say: (line: string) => void,
    timing: Partial<SupervisorTiming> = {},
  ) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
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

  private spawnChild(entry: Running): ChildProcess {
    const { spec, record } = entry;
    const log = openSync(record.log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd ?? this.paths.root,
        env: { ...process.env, ...spec.env, SEARCHSYNC_STACK_MARKER: this.paths.marker },
        stdio: ['ignore', log, log],
        // Own process group: Ctrl-C reaches the supervisor only, which stops children in order.
        detached: true,
        uid: spec.uid,
        gid: spec.gid,
      });
    } finally {
      closeSync(log);
    }
    entry.child = child;
    entry.healthySince = null;
    record.pid = child.pid ?? null;
    this.save();
    child.on('exit', (code, signal) =>
      this.onExit(entry, child, signal ? `signal ${signal}` : `code ${code}`),
    );
    // A process that could not be started at all may never emit 'exit'.
    child.on('error', (error) => {
      if (child.pid === undefined) this.onExit(entry, child, `spawn error: ${error.message}`);
    });
    return child;
  }

  private onExit(entry: Running, child: ChildProcess, how: string): void {
    if (entry.child !== child) return;
    const { record } = entry;
    record.lastExit = `${new Date().toISOString()} ${how}`;
    record.pid = null;
    entry.child = null;
    // Whatever it started in its process group must not outlive it.
    if (child.pid) killGroup(child.pid);
    if (record.state === 'held') {
      this.save();
      return;
    }
    if (this.stopping || record.state === 'stopping') {
      record.state = 'stopped';
      this.save();
      return;
    }
    if (entry.initial) {
      record.state = 'failed';
      this.save();
      return;
    }
    this.scheduleRestart(entry, `exited (${how})`);
  }

  private scheduleRestart(entry: Running, what: string): void {
    const { record, spec } = entry;
    const healthyFor = entry.healthySince === null ? 0 : Date.now() - entry.healthySince;
    entry.healthySince = null;
    if (healthyFor > this.timing.freshBackoffAfterMs) entry.backoff.reset();
    const delay = entry.backoff.next();
    record.state = 'restarting';
    record.restarts += 1;
    this.save();
    this.say(`! ${spec.name} ${what}; restarting in ${delay / 1000}s`);
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = null;
      if (this.stopping || record.state !== 'restarting') return;
      record.lastRestartAt = new Date().toISOString();
      this.launch(entry, 'restart').catch((error: Error) => {
        this.say(`! restarting ${spec.name} failed: ${error.message}`);
      });
    }, delay);
  }

  /**
   * Starts the service again (after a crash or on release) and waits for it. Every way this can
   * fail ends in another attempt with backoff, unless a hold, release or stop took over meanwhile.
   */
  private async launch(entry: Running, kind: 'restart' | 'release'): Promise<void> {
    const { record, spec } = entry;
    const generation = ++entry.generation;
    let child: ChildProcess;
    try {
      child = this.spawnChild(entry);
    } catch (error) {
      record.lastExit = `${new Date().toISOString()} spawn error: ${(error as Error).message}`;
      this.scheduleRestart(entry, `could not be started (${(error as Error).message})`);
      return;
    }
    const ok = await this.waitHealthy(entry, child);
    if (this.stopping || entry.generation !== generation) return;
    if (ok) {
      entry.healthySince = Date.now();
      record.state = 'running';
      this.save();
      this.say(
        kind === 'restart' ? `✓ ${spec.name} restarted` : `✓ ${spec.name} released and running`,
      );
      return;
    }
    // It exited while we waited: its exit has already scheduled the next attempt.
    if (entry.child !== child) return;
    this.say(
      `! ${spec.name} did not become healthy within ${spec.startTimeoutMs / 1000}s after ${kind}; stopping it to try again; see ${record.log}`,
    );
    // Its exit schedules the next attempt, unless a hold or stop claims it first.
    await this.terminate(child, spec);
  }

  /** True once `child` answers; false when it exits, is replaced, or does not answer in time. */
  private async waitHealthy(entry: Running, child: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + entry.spec.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.stopping || entry.child !== child || !isRunning(child)) return false;
      try {
        if (await entry.spec.healthy()) return true;
      } catch {
        // not up yet
      }
      await sleep(this.timing.healthPollMs);
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
    const entry: Running = {
      spec,
      child: null,
      record,
      generation: 0,
      initial: true,
      healthySince: null,
      backoff: new BackoffSchedule({
        initialDelayMs: this.timing.restartBaseMs,
        maxDelayMs: this.timing.restartMaxMs,
      }),
      restartTimer: null,
    };
    this.running.set(spec.name, entry);
    const began = Date.now();
    this.say(`… starting ${spec.name}`);
    const generation = ++entry.generation;
    let ok = false;
    try {
      ok = await this.waitHealthy(entry, this.spawnChild(entry));
    } catch (error) {
      record.state = 'failed';
      this.save();
      throw new ServiceStartError(spec.name, (error as Error).message, record.log);
    } finally {
      entry.initial = false;
    }
    if (!this.stopping && entry.generation !== generation) {
      // Held (./searchsync stop) while it was starting: the hold owns it now, a release starts it.
      return;
    }
    if (!ok) {
      const reason = entry.child
        ? `not healthy within ${Math.round(spec.startTimeoutMs / 1000)}s`
        : `exited (${record.lastExit ?? 'unknown'})`;
      record.state = 'failed';
      this.save();
      throw new ServiceStartError(spec.name, reason, record.log);
    }
    entry.healthySince = Date.now();
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
    for (const entry of entries) this.cancelRestart(entry);
    for (const entry of entries) await this.stopOne(entry);
  }

  private cancelRestart(entry: Running): void {
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = null;
  }

  private async stopOne(entry: Running): Promise<void> {
    const { child, record, spec } = entry;
    if (!child?.pid || !isRunning(child)) {
      record.state = 'stopped';
      record.pid = null;
      this.save();
      return;
    }
    record.state = 'stopping';
    this.save();
    await this.terminate(child, spec);
    record.state = 'stopped';
    record.pid = null;
    this.save();
    this.say(`✓ ${spec.name} stopped`);
  }

  /** Stops one process and its process group: its stop signal, then SIGKILL after the timeout. */
  private async terminate(child: ChildProcess, spec: ServiceSpec): Promise<void> {
    const pid = child.pid;
    if (!pid) return;
    if (isRunning(child)) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signalGroup(pid, spec.stopSignal ?? 'SIGTERM');
      const timeout = spec.stopTimeoutMs ?? 20_000;
      if (!(await within(exited, timeout))) {
        this.say(`! ${spec.name} did not stop within ${timeout / 1000}s; killing it`);
        signalGroup(pid, 'SIGKILL');
        await within(exited, 5000);
      }
    }
    // Children of the service (same process group) go with it.
    killGroup(pid);
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
      if (held.has(spec.name)) {
        if (record.state === 'held') continue;
        // Whatever was in flight for it (a pending restart, a health wait, its start-up) is void
        // from here on.
        entry.generation += 1;
        entry.initial = false;
        this.cancelRestart(entry);
        await this.stopOne(entry);
        if (this.stopping) return;
        record.state = 'held';
        record.heldSince = new Date().toISOString();
        this.save();
        this.say(`‖ ${spec.name} held down (./searchsync start ${spec.name} releases it)`);
      } else if (record.state === 'held' || record.state === 'stopped') {
        record.state = 'starting';
        record.heldSince = null;
        // Started on request: the backoff starts afresh.
        entry.backoff.reset();
        this.save();
        await this.launch(entry, 'release');
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

/** SIGKILL to a process group only: after its leader has exited, its pid may be someone else's. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no process of the group left
  }
}
