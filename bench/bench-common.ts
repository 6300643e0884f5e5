/**
 * Helpers shared by benchmarks that run against the local stack: the machine they ran on, the
 * CPU each stack component burned during a phase, small HTTP and Markdown utilities.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** A benchmark that cannot go on: the message says what went wrong and what to check. */
export class BenchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
  }
}

/** An HTTP call that answered with a status the benchmark did not expect. */
export class BenchHttpError extends BenchError {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${url} answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'BenchHttpError';
  }
}

export { sleep } from '@searchsync/retry';

export interface MachineInfo {
  cpus: number;
  memGb: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: cpus().length,
    memGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
  };
}

/**
 * JSON over HTTP. `expect` lists the statuses that count as success; any other status throws
 * BenchHttpError with the body, so a failing call says why.
 */
export async function httpJson<T>(
  method: string,
  url: string,
  options: { body?: unknown; expect?: number[]; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const expect = options.expect ?? [200];
  const response = await fetch(url, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (!expect.includes(response.status)) {
    throw new BenchHttpError(method, url, response.status, text);
  }
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

export interface StackService {
  pid: number;
  restarts: number;
}

/** The local stack's running services, from the supervisor's state file (`.stack/state.json`). */
export function stackServices(stateFile: string): Record<string, StackService> {
  let state: { services?: Record<string, { pid?: unknown; state?: unknown; restarts?: unknown }> };
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as typeof state;
  } catch (error) {
    throw new BenchError(
      `cannot read the stack state ${stateFile}: start the stack (./searchsync up --detach) or set SEARCHSYNC_STACK_STATE`,
      { cause: error },
    );
  }
  const services: Record<string, StackService> = {};
  for (const [name, service] of Object.entries(state.services ?? {})) {
    if (typeof service.pid === 'number' && service.state === 'running') {
      services[name] = {
        pid: service.pid,
        restarts: typeof service.restarts === 'number' ? service.restarts : 0,
      };
    }
  }
  return services;
}

export function stackPids(stateFile: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(stackServices(stateFile)).map(([name, service]) => [name, service.pid]),
  );
}

/**
 * Services restarted between two readings of the state file: a phase they were restarted in
 * measured something else (other users of a shared stack restart parts in their tests).
 */
export function restartedBetween(
  before: Record<string, StackService>,
  after: Record<string, StackService>,
): string[] {
  return Object.keys(before).filter((name) => after[name]?.pid !== before[name].pid);
}

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

const TICKS = clockTicksPerSecond();

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function readProcStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while listing
    }
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    stats.set(Number(entry), { ppid: Number(fields[1]), ticks: utime + stime + cutime + cstime });
  }
  return stats;
}

/** Key of the whole machine's busy CPU seconds in a cpuSeconds() sample. */
const MACHINE = '(machine)';

/** Busy CPU seconds of the whole machine since boot (/proc/stat, all but idle and iowait). */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / TICKS;
}

/**
 * CPU seconds each service has used so far, counting its whole process tree (PostgreSQL runs a
 * process per connection; children that exited are in their parent's cutime/cstime).
 */
export function cpuSeconds(pids: Record<string, number>): Record<string, number> {
  const stats = readProcStats();
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const out: Record<string, number> = {};
  for (const [name, root] of Object.entries(pids)) {
    let ticks = 0;
    const queue = [root];
    while (queue.length > 0) {
      const pid = queue.pop() as number;
      ticks += stats.get(pid)?.ticks ?? 0;
      queue.push(...(children.get(pid) ?? []));
    }
    out[name] = ticks / TICKS;
  }
  const own = process.cpuUsage();
  out.benchmark = (own.user + own.system) / 1e6;
  out[MACHINE] = machineBusySeconds();
  return out;
}

export interface CpuUse {
  component: string;
  cpuSeconds: number;
  /** Average cores busy over the phase (1.0 = one core all the time). */
  cores: number;
}

/** What each component burned between two samples, busiest first. */
/**
 * What each component burned between two samples, busiest first, and `other` for the rest of
 * the machine (whatever else runs on the box: it competes for the same cores).
 */
export function cpuBetween(
  before: Record<string, number>,
  after: Record<string, number>,
  wallSeconds: number,
): CpuUse[] {
  const use = (component: string, seconds: number): CpuUse => ({
    component,
    cpuSeconds: Math.round(seconds * 10) / 10,
    cores: Math.round((seconds / wallSeconds) * 100) / 100,
  });
  const components = Object.keys(after)
    .filter((name) => name in before && name !== MACHINE)
    .map((name) => use(name, Math.max(0, after[name] - before[name])));
  const known = components.reduce(
    (sum, c) => sum + Math.max(0, after[c.component] - before[c.component]),
    0,
  );
  const machine = after[MACHINE] - before[MACHINE];
  return [...components, use('other', Math.max(0, machine - known))].sort(
    (a, b) => b.cpuSeconds - a.cpuSeconds,
  );
}

export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Prometheus samples from a /metrics page, each name summed over its label sets; null when the
 * page cannot be read (the process is down or restarting).
 */
export async function promSums(
  url: string,
  names: string[],
): Promise<Record<string, number> | null> {
  const response = await fetch(url).catch(() => undefined);
  if (!response?.ok) return null;
  const sums: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1] in sums) sums[match[1]] += Number(match[3]);
  }
  return sums;
}

/** The bench tables' columns: text, numeric, timestamptz and jsonb, as issue #15 asks. */
export const BENCH_TABLE_DDL = `(id bigint primary key, title text, body text, amount numeric(12,2),
  at timestamptz, doc jsonb)`;

/** Rows of about 400 bytes: a short title, a ~200-character body, a number, a time, a small doc. */
export const BENCH_ROWS_SQL = (table: string) => `insert into ${table}
  select g,
    'title ' || g || ' ' || left(md5(g::text), 12),
    (array['espresso','grinder','kettle','scale','filter','beans'])[g % 6 + 1] || ' ' ||
      repeat(md5((g * 7)::text) || ' ', 6),
    (g % 100000) / 100.0,
    timestamptz '2026-01-01' + g * interval '1 minute',
    jsonb_build_object('k', g % 97, 'tags', jsonb_build_array('a', 'b'), 'n', g)
  from generate_series(1, $1::int) g`;
