/**
 * Small pieces of the benchmark suite (bench/suite.ts): where the stack is, counting documents,
 * Kafka topic sizes, one Prometheus gauge, a process's memory, percentiles.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin } from 'kafkajs';
import { BenchError, sleep } from './bench-common';

/** Where the local stack answers; each has the environment variable the other benches read. */
export interface SuiteEnv {
  root: string;
  databaseUrl: string;
  brokers: string[];
  searchUrl: string;
  adminUrl: string;
  adminHeaders: Record<string, string>;
  /** Index prefix of the stack's indexer (aliases are `<prefix>.<schema>.<table>`). */
  indexPrefix: string;
  /** Debezium's topic prefix (topics are `<prefix>.<schema>.<table>`). */
  topicPrefix: string;
  stateFile: string;
  indexerMetricsUrl: string;
}

export function suiteEnv(): SuiteEnv {
  const root = resolve(__dirname, '..', '..');
  const trim = (url: string) => url.replace(/\/$/, '');
  return {
    root,
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/app',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    searchUrl: trim(process.env.SEARCH_URL ?? 'http://127.0.0.1:9200'),
    adminUrl: trim(process.env.ADMIN_URL ?? 'http://127.0.0.1:3001'),
    adminHeaders: process.env.ADMIN_API_KEY
      ? { authorization: `Bearer ${process.env.ADMIN_API_KEY}` }
      : {},
    indexPrefix: process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync',
    topicPrefix: process.env.SEARCHSYNC_TOPIC_PREFIX ?? 'searchsync',
    stateFile: process.env.SEARCHSYNC_STACK_STATE ?? resolve(root, '.stack/state.json'),
    indexerMetricsUrl: process.env.INDEXER_METRICS_URL ?? 'http://127.0.0.1:3002/metrics',
  };
}

export const log = (line: string) => process.stderr.write(`${line}\n`);
export const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Documents searchable in an index or alias, after a refresh; 0 while it does not exist. */
export async function searchableCount(searchUrl: string, index: string): Promise<number> {
  await fetch(`${searchUrl}/${index}/_refresh`, { method: 'POST' }).catch(() => undefined);
  const response = await fetch(`${searchUrl}/${index}/_count`).catch(() => undefined);
  if (!response?.ok) return 0;
  return ((await response.json()) as { count: number }).count;
}

/**
 * Index operations an index (or the indices behind an alias) has taken, counted without a
 * refresh, so polling it does not change what is measured; 0 while it does not exist.
 */
export async function indexOperations(searchUrl: string, index: string): Promise<number> {
  const response = await fetch(
    `${searchUrl}/${index}/_stats/indexing?filter_path=_all.primaries.indexing.index_total`,
  ).catch(() => undefined);
  if (!response?.ok) return 0;
  const body = (await response.json()) as {
    _all?: { primaries?: { indexing?: { index_total?: number } } };
  };
  return body._all?.primaries?.indexing?.index_total ?? 0;
}

export interface Arrival {
  /** When the first documents were seen (ms epoch). */
  firstAt: number;
  /** When `_count` (after a refresh) first reached the target (ms epoch). */
  doneAt: number;
}

/**
 * Waits until `index` holds `target` searchable documents. Polls the index-operation counter
 * every `pollMs` (cheap, no refresh) and confirms with a refresh and `_count` once it says all
 * are there, so the end is "searchable", not "written".
 */
export async function waitForDocuments(
  searchUrl: string,
  index: string,
  target: number,
  { pollMs = 200, timeoutMs, what }: { pollMs?: number; timeoutMs: number; what: string },
): Promise<Arrival> {
  const began = Date.now();
  let firstAt = 0;
  let reported = 0;
  for (;;) {
    const ops = await indexOperations(searchUrl, index);
    const now = Date.now();
    if (ops > 0 && firstAt === 0) firstAt = now;
    if (ops >= target) {
      const count = await searchableCount(searchUrl, index);
      if (count >= target) return { firstAt: firstAt || now, doneAt: Date.now() };
    }
    if (now - reported > 10_000) {
      log(`  ${ops}/${target} documents written to ${index}`);
      reported = now;
    }
    if (now - began > timeoutMs) {
      const count = await searchableCount(searchUrl, index);
      throw new BenchError(
        `${index} holds ${count} of ${target} documents after ${round(timeoutMs / 1000)}s: ${what}`,
      );
    }
    await sleep(pollMs);
  }
}

/** Records in a topic (all partitions); 0 while it does not exist. */
export async function topicRecords(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** One gauge of a /metrics page for one label value (e.g. the lag of one topic); null if absent. */
export async function promGauge(
  url: string,
  name: string,
  label: string,
  value: string,
): Promise<number | null> {
  const response = await fetch(url).catch(() => undefined);
  if (!response?.ok) return null;
  const wanted = `${label}="${value}"`;
  let sum: number | null = null;
  for (const line of (await response.text()).split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf('}');
    if (
      !line
        .slice(name.length + 1, close)
        .split(',')
        .includes(wanted)
    )
      continue;
    sum =
      (sum ?? 0) +
      Number(
        line
          .slice(close + 1)
          .trim()
          .split(/\s+/)[0],
      );
  }
  return sum;
}

/** A process's resident memory now and its peak (VmRSS, VmHWM), in MB; null once it exited. */
export function processMemory(pid: number): { rssMb: number; hwmMb: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** Nearest-rank percentile of sorted values; null for none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** An OpenSearch time value (`1s`, `500ms`, `-1`) in milliseconds; -1 for "never". */
export function durationMs(value: string): number {
  if (value === '-1') return -1;
  const match = /^(\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new BenchError(`cannot read the time value "${value}"`);
  const unit = {
    nanos: 1e-6,
    micros: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  return Number(match[1]) * unit[(match[2] ?? 'ms') as keyof typeof unit];
}

/** The refresh interval of the index behind an alias, in ms (OpenSearch's default is 1 s). */
export async function refreshIntervalMs(searchUrl: string, index: string): Promise<number> {
  const response = await fetch(
    `${searchUrl}/${index}/_settings/index.refresh_interval?include_defaults=true&flat_settings=true`,
  );
  if (!response.ok) {
    throw new BenchError(`GET ${index}/_settings answered ${response.status}: is ${index} there?`);
  }
  const body = (await response.json()) as Record<
    string,
    { settings?: Record<string, string>; defaults?: Record<string, string> }
  >;
  const [first] = Object.values(body);
  const value =
    first?.settings?.['index.refresh_interval'] ?? first?.defaults?.['index.refresh_interval'];
  return durationMs(value ?? '1s');
}

let ticksPerSecond: number | undefined;

/**
 * CPU seconds of this process's children that have exited (cutime + cstime of /proc/self/stat):
 * what a child benchmark burned, once it is gone from /proc.
 */
export function exitedChildrenCpuSeconds(): number {
  if (ticksPerSecond === undefined) {
    try {
      const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}
