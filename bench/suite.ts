/**
 * The benchmark suite (issue #15): every stage of the pipeline against the raw `_bulk` ceiling
 * measured in the same run, on the running local stack.
 *
 *   ./searchsync up --detach
 *   npm run bench [-- --quick] [--rows N] [--rate R] [--seconds S] [--out FILE] [--only a,b]
 *
 * Stages (--only takes their names): rawBulk, debeziumToKafka, drain, snapshot, endToEnd,
 * streaming, api. It holds the stack's indexer (`./searchsync stop indexer`) while Debezium fills
 * a topic and a private indexer drains it, and always releases it again.
 *
 * Env: DATABASE_URL, KAFKA_BROKERS, SEARCH_URL, ADMIN_URL, ADMIN_API_KEY, SEARCHSYNC_INDEX_PREFIX,
 * SEARCHSYNC_TOPIC_PREFIX, SEARCHSYNC_STACK_STATE, INDEXER_METRICS_URL.
 *
 * Progress goes to stderr; the Markdown table to stdout and beside the JSON (--out, default
 * bench/results/latest.json, and latest.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { propertiesFor, type ConnectSchema } from '@searchsync/change-events';
import { TABLE_INDEX_SETTINGS } from '@searchsync/search-engine';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';
import { readHeld, setHeld } from '../tools/stack/stack-control';
import { StackPaths } from '../tools/stack/stack-paths';
import {
  BENCH_ROWS_SQL,
  BENCH_TABLE_DDL,
  BenchError,
  cpuBetween,
  cpuSeconds,
  httpJson,
  machineInfo,
  markdownTable,
  restartedBetween,
  sleep,
  stackPids,
  stackServices,
  type StackService,
} from './bench-common';
import { prefillStreamingTable, runStreaming, type StreamingResult } from './suite-streaming';
import {
  exitedChildrenCpuSeconds,
  log,
  processMemory,
  refreshIntervalMs,
  round,
  searchableCount,
  suiteEnv,
  topicRecords,
  type Arrival,
  waitForDocuments,
} from './suite-support';

const STAGES = [
  'rawBulk',
  'debeziumToKafka',
  'drain',
  'snapshot',
  'endToEnd',
  'streaming',
  'api',
] as const;
type Stage = (typeof STAGES)[number];

interface Options {
  quick: boolean;
  /** Rows of the table Debezium fills the topic with, the drain and the snapshot read. */
  rows: number;
  endToEndRows: number;
  rawDocs: number;
  rate: number;
  seconds: number;
  out: string;
  only: Set<Stage>;
}

const USAGE =
  'usage: npm run bench -- [--quick] [--rows N] [--rate R] [--seconds S] [--out FILE] [--only ' +
  `${STAGES.join(',')}]`;

function parseArgs(argv: string[], root: string): Options {
  const number = (name: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) {
      throw new BenchError(
        `--${name} needs an integer >= ${min}, got ${value ?? 'nothing'}; ${USAGE}`,
      );
    }
    return n;
  };
  let quick = false;
  let rows: number | undefined;
  let rate = 2000;
  let seconds: number | undefined;
  let out = resolve(root, 'bench/results/latest.json');
  let only = new Set<Stage>(STAGES);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--rows') rows = number('rows', argv[++i], 1);
    else if (arg === '--rate') rate = number('rate', argv[++i], 1);
    else if (arg === '--seconds') seconds = number('seconds', argv[++i], 1);
    else if (arg === '--out') {
      const file = argv[++i];
      if (!file) throw new BenchError(`--out needs a file path; ${USAGE}`);
      out = resolve(file);
    } else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(STAGES as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0) {
        throw new BenchError(
          `--only takes stages among ${STAGES.join(', ')}; got ${argv[i] ?? 'nothing'}`,
        );
      }
      only = new Set(names as Stage[]);
    } else throw new BenchError(`unknown argument ${arg}; ${USAGE}`);
  }
  return {
    quick,
    rows: rows ?? (quick ? 200_000 : 1_000_000),
    endToEndRows: rows ?? (quick ? 100_000 : 1_000_000),
    rawDocs: quick ? 100_000 : 250_000,
    rate,
    seconds: seconds ?? (quick ? 30 : 120),
    out,
    only,
  };
}

const env = suiteEnv();
const paths = new StackPaths(env.root);
const ratioOf = (rate: number | null, raw: number | null) =>
  rate === null || raw === null || raw === 0 ? null : round(rate / raw, 3);

/** The columns of the bench tables, as Debezium describes them: the raw bulk uses their mapping. */
const BENCH_COLUMNS: ConnectSchema[] = [
  { field: 'id', type: 'int64' },
  { field: 'title', type: 'string', optional: true },
  { field: 'body', type: 'string', optional: true },
  {
    field: 'amount',
    type: 'string',
    optional: true,
    parameters: { '__debezium.source.column.type': 'NUMERIC' },
  },
  { field: 'at', type: 'string', optional: true, name: 'io.debezium.time.ZonedTimestamp' },
  { field: 'doc', type: 'string', optional: true, name: 'io.debezium.data.Json' },
];

/** The same row as a document, as the indexer writes it (numeric as a string, time ISO). */
function benchDocument(g: number) {
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const words = ['espresso', 'grinder', 'kettle', 'scale', 'filter', 'beans'];
  return {
    id: g,
    title: `title ${g} ${md5(String(g)).slice(0, 12)}`,
    body: `${words[g % 6]} ${`${md5(String(g * 7))} `.repeat(6)}`,
    amount: ((g % 100000) / 100).toFixed(2),
    at: new Date(Date.UTC(2026, 0, 1) + g * 60_000).toISOString().replace('.000Z', 'Z'),
    doc: { k: g % 97, tags: ['a', 'b'], n: g },
  };
}

interface CpuMark {
  at: number;
  pids: Record<string, number>;
  cpu: Record<string, number>;
  services: Record<string, StackService>;
}

/** The state of one run: what it measured, and what must be undone whatever happens. */
class Suite {
  readonly cpuSeconds: Record<string, Record<string, number>> = {};
  readonly disturbances: string[] = [];
  readonly tables: string[] = [];
  readonly indices: string[] = [];
  readonly children = new Set<ChildProcess>();
  indexerHeld = false;
  private cleaned = false;

  private kafkaAdmin: Admin | undefined;

  constructor(readonly db: Client) {}

  /** A Kafka admin client, connected on first use (only the stages that read topics need it). */
  async kafka(): Promise<Admin> {
    if (this.kafkaAdmin) return this.kafkaAdmin;
    const admin = new Kafka({
      brokers: env.brokers,
      logLevel: logLevel.NOTHING,
      clientId: 'bench-suite',
    }).admin();
    await admin.connect().catch((error: unknown) => {
      throw new BenchError(`cannot reach Kafka at ${env.brokers.join(',')} (KAFKA_BROKERS)`, {
        cause: error,
      });
    });
    this.kafkaAdmin = admin;
    return admin;
  }

  async close(): Promise<void> {
    await this.kafkaAdmin?.disconnect().catch(() => undefined);
    await this.db.end().catch(() => undefined);
  }

  mark(extra: Record<string, number> = {}): CpuMark {
    const pids = { ...stackPids(env.stateFile), ...extra };
    return { at: Date.now(), pids, cpu: cpuSeconds(pids), services: stackServices(env.stateFile) };
  }

  /**
   * Records a stage's CPU per component, and what disturbed it. `children`: a child benchmark
   * that exited during the stage, under its name with its CPU seconds (taken out of `other`).
   */
  record(
    stage: string,
    from: CpuMark,
    {
      expectRestarts = [],
      children,
    }: { expectRestarts?: string[]; children?: [string, number] } = {},
  ): void {
    const seconds = Math.max(0.001, (Date.now() - from.at) / 1000);
    const uses = cpuBetween(from.cpu, cpuSeconds(from.pids), seconds);
    if (children) {
      const [name, cpu] = children;
      const other = uses.find((u) => u.component === 'other');
      if (other) {
        other.cpuSeconds = round(Math.max(0, other.cpuSeconds - cpu), 1);
        other.cores = round(other.cpuSeconds / seconds, 2);
      }
      uses.push({ component: name, cpuSeconds: round(cpu, 1), cores: round(cpu / seconds, 2) });
    }
    for (const use of uses) {
      (this.cpuSeconds[use.component] ??= {})[stage] = use.cpuSeconds;
      if (use.component === 'other' && use.cores > 0.25) {
        this.disturbances.push(`${stage}: processes outside the stack used ${use.cores} cores`);
      }
    }
    for (const name of restartedBetween(from.services, stackServices(env.stateFile))) {
      if (!expectRestarts.includes(name)) this.disturbances.push(`${stage}: ${name} restarted`);
    }
  }

  async holdIndexer(): Promise<void> {
    if (readHeld(paths).has('indexer')) {
      throw new BenchError(
        'the stack indexer is already held by someone else (./searchsync start indexer releases it); not touching it',
      );
    }
    log('holding the stack indexer');
    this.indexerHeld = true;
    await setHeld(paths, 'indexer', true);
  }

  async releaseIndexer(): Promise<void> {
    if (!this.indexerHeld) return;
    log('releasing the stack indexer');
    await setHeld(paths, 'indexer', false);
    this.indexerHeld = false;
  }

  /** Undoes everything; safe to call twice (a signal during the normal end). */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const child of this.children) child.kill('SIGKILL');
    await this.releaseIndexer().catch((error: unknown) =>
      log(`could not release the stack indexer: run ./searchsync start indexer (${String(error)})`),
    );
    for (const index of this.indices) {
      await deleteIndices(index).catch(() => undefined);
    }
    for (const table of this.tables) {
      await this.db
        .query(`drop table if exists ${table}`)
        .catch((error: unknown) => log(`could not drop ${table}: ${String(error)}`));
    }
  }
}

/** Deletes the indices a name or pattern stands for (one by one: wildcard deletes may be off). */
async function deleteIndices(pattern: string): Promise<void> {
  const { body } = await httpJson<{ index: string }[]>(
    'GET',
    `${env.searchUrl}/_cat/indices/${pattern}?format=json&h=index&expand_wildcards=all`,
    { expect: [200, 404] },
  );
  for (const { index } of Array.isArray(body) ? body : []) {
    await httpJson('DELETE', `${env.searchUrl}/${index}`, { expect: [200, 404] });
  }
}

// ---------------------------------------------------------------------------------------------

interface RawBulkResult {
  docsPerSec: number;
  bulkSize: number;
  concurrency: number;
  docs: number;
  megabytes: number;
  byConcurrency: Record<string, number>;
  /** Requests sent again after OpenSearch pushed back (429), by concurrency. */
  retriesByConcurrency: Record<string, number>;
}

/**
 * Sends every bulk body, `concurrency` at a time, as a plain loader does: a request OpenSearch
 * pushes back (429, or items rejected with 429) is sent again after a pause; anything else
 * stops every worker. Returns how many requests were sent again.
 */
async function bulkAll(index: string, bodies: string[], concurrency: number): Promise<number> {
  let next = 0;
  let retried = 0;
  let failed = false;
  const send = async (body: string) => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(
        `${env.searchUrl}/${index}/_bulk?filter_path=errors,items.*.error,items.*.status`,
        { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body },
      );
      const text = await response.text();
      const result = JSON.parse(text) as {
        errors?: boolean;
        items?: Record<string, { status: number }>[];
      };
      const pushedBack =
        response.status === 429 ||
        (result.errors === true &&
          (result.items ?? []).every((item) =>
            Object.values(item).every((op) => op.status < 300 || op.status === 429),
          ));
      if (response.ok && !result.errors) return;
      if (!pushedBack || attempt === 10) {
        throw new BenchError(
          `raw bulk into ${index} failed (${response.status}, attempt ${attempt}): ${text.slice(0, 500)}; check OpenSearch (.stack/logs/opensearch.log)`,
        );
      }
      retried += 1;
      await sleep(100 * attempt);
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length && !failed) {
        try {
          await send(bodies[next++]);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  return retried;
}

/** The best plain loader: in-memory bulk bodies into a scratch index, 1, 2 and 4 in flight. */
async function rawBulk(suite: Suite, docs: number, stamp: string): Promise<RawBulkResult> {
  const bulkSize = 2000;
  const bodies: string[] = [];
  for (let start = 1; start <= docs; start += bulkSize) {
    const lines: string[] = [];
    for (let g = start; g < Math.min(docs + 1, start + bulkSize); g++) {
      lines.push(`{"index":{"_id":"${g}"}}\n${JSON.stringify(benchDocument(g))}\n`);
    }
    bodies.push(lines.join(''));
  }
  const bytes = bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0);
  log(
    `raw _bulk: ${docs} documents (${round(bytes / docs)} bytes a line pair), ${bulkSize} a request`,
  );
  const byConcurrency: Record<string, number> = {};
  const retries: Record<string, number> = {};
  let best = { docsPerSec: 0, concurrency: 0 };
  for (const concurrency of [1, 2, 4]) {
    const scratch = `bench-suite-raw-${stamp}-c${concurrency}`;
    suite.indices.push(scratch);
    await httpJson('PUT', `${env.searchUrl}/${scratch}`, {
      body: {
        settings: { ...TABLE_INDEX_SETTINGS, refresh_interval: '-1', number_of_replicas: 0 },
        mappings: { dynamic: false, properties: propertiesFor(BENCH_COLUMNS) },
      },
    });
    const from = suite.mark();
    const began = process.hrtime.bigint();
    const retried = await bulkAll(scratch, bodies, concurrency);
    await httpJson('POST', `${env.searchUrl}/${scratch}/_refresh`);
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    const rate = docs / seconds;
    const written = await searchableCount(env.searchUrl, scratch);
    if (written !== docs) throw new BenchError(`${scratch} holds ${written} of ${docs} documents`);
    byConcurrency[String(concurrency)] = round(rate);
    if (retried > 0) retries[String(concurrency)] = retried;
    log(
      `  ${concurrency} in flight: ${round(rate)} docs/s (${round(seconds, 2)} s${retried ? `, ${retried} requests retried after 429` : ''})`,
    );
    if (rate > best.docsPerSec) {
      best = { docsPerSec: rate, concurrency };
      // The CPU of the best run stands for the stage.
      suite.record('rawBulk', from);
    }
    await httpJson('DELETE', `${env.searchUrl}/${scratch}`, { expect: [200, 404] });
  }
  return {
    docsPerSec: round(best.docsPerSec),
    bulkSize,
    concurrency: best.concurrency,
    docs,
    megabytes: round(bytes / 1e6, 1),
    byConcurrency,
    retriesByConcurrency: retries,
  };
}

/** Creates a bench table and inserts `rows` rows in one statement; returns the commit time. */
async function insertBenchTable(suite: Suite, table: string, rows: number): Promise<number> {
  await suite.db.query(`create table ${table} ${BENCH_TABLE_DDL}`);
  suite.tables.push(table);
  log(`inserting ${rows} rows into ${table} in one statement`);
  const began = Date.now();
  await suite.db.query(BENCH_ROWS_SQL(table), [rows]);
  const committed = Date.now();
  log(`  committed in ${round((committed - began) / 1000, 1)} s`);
  return committed;
}

const pipelineHint = `check GET ${env.adminUrl}/v1/pipeline and .stack/logs/indexer.log`;
/** Generous limits: 2 minutes plus 2 ms a row (33 minutes for a million). */
const timeoutFor = (rows: number) => 120_000 + rows * 2;

/** Debezium → Kafka alone, with the stack's indexer held (the caller holds it). */
async function debeziumToKafka(suite: Suite, table: string, rows: number) {
  const topic = `${env.topicPrefix}.public.${table}`;
  const kafka = await suite.kafka();
  const committed = await insertBenchTable(suite, table, rows);
  const from = suite.mark();
  from.at = committed;
  let records = 0;
  let reported = Date.now();
  while ((records = await topicRecords(kafka, topic)) < rows) {
    if (Date.now() - committed > timeoutFor(rows)) {
      throw new BenchError(
        `${topic} holds ${records} of ${rows} records: check the connector (GET http://127.0.0.1:8083/connectors/searchsync-postgres/status) and .stack/logs/kafka-connect.log`,
      );
    }
    if (Date.now() - reported > 10_000) {
      log(`  ${records}/${rows} records in ${topic}`);
      reported = Date.now();
    }
    await sleep(200);
  }
  const seconds = (Date.now() - committed) / 1000;
  suite.record('debeziumToKafka', from);
  log(`  Debezium → Kafka: ${round(rows / seconds)} docs/s (${round(seconds, 1)} s)`);
  return { rows, records, docsPerSec: round(rows / seconds), seconds: round(seconds, 1), topic };
}

/** A private indexer drains the pre-filled topic into indices of its own. */
/**
 * `events` change events are in the topic for `rows` rows (more only if Debezium sent some
 * twice); the drain ends when all rows are searchable.
 */
async function drain(suite: Suite, table: string, rows: number, events: number, stamp: string) {
  const prefix = `benchsuite${stamp}`;
  const index = `${prefix}.public.${table}`;
  suite.indices.push(`${prefix}.*`);
  const group = `bench-${prefix}`;
  const began = Date.now();
  const child = spawn(process.execPath, [resolve(env.root, 'dist/apps/indexer/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.brokers.join(','),
      SEARCH_URL: env.searchUrl,
      SEARCHSYNC_TOPIC_PREFIX: env.topicPrefix,
      INDEXER_GROUP_ID: group,
      SEARCHSYNC_INDEX_PREFIX: prefix,
      // This table only: earlier runs' and tests' topics would otherwise be drained too.
      INDEXER_INCLUDE_TABLES: `public.${table}`,
      INDEXER_METRICS_PORT: '3990',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  suite.children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const pid = child.pid;
  if (pid === undefined)
    throw new BenchError(
      'could not start the private indexer (dist/apps/indexer/src/main.js built?)',
    );
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  log(`drain: private indexer ${pid} (group ${group}, index ${index})`);
  const from = suite.mark({ indexer: pid });
  from.at = began;
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    const memory = processMemory(pid);
    if (memory) peakRssMb = Math.max(peakRssMb, memory.rssMb);
  }, 500);
  let arrival: Arrival;
  try {
    arrival = await Promise.race([
      waitForDocuments(env.searchUrl, index, rows, {
        timeoutMs: timeoutFor(events),
        what: `the private indexer did not drain the topic; its stderr: ${stderr.slice(-500)}`,
      }),
      exited.then((code) => {
        throw new BenchError(
          `the private indexer exited (${code}) during the drain: ${stderr.slice(-1000)}`,
        );
      }),
    ]);
    const memory = processMemory(pid);
    if (memory) peakRssMb = Math.max(peakRssMb, memory.hwmMb, memory.rssMb);
    suite.record('drain', from);
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    suite.children.delete(child);
    await deleteIndices(`${prefix}.*`).catch((error: unknown) =>
      log(`could not delete ${prefix}.*: ${String(error)}`),
    );
    await (await suite.kafka()).deleteGroups([group]).catch(() => undefined);
  }
  const steady = (arrival.doneAt - arrival.firstAt) / 1000;
  const total = (arrival.doneAt - began) / 1000;
  const result = {
    events,
    docs: rows,
    docsPerSec: round(rows / Math.max(steady, 0.001)),
    withStartupDocsPerSec: round(rows / total),
    seconds: round(steady, 1),
    startupSeconds: round((arrival.firstAt - began) / 1000, 1),
    peakRssMb: round(peakRssMb),
  };
  log(
    `  drain: ${result.docsPerSec} docs/s steady, ${result.withStartupDocsPerSec} with start-up, peak RSS ${result.peakRssMb} MB`,
  );
  return result;
}

interface RebuildProgress {
  id: string;
  state: 'starting' | 'filling' | 'catching_up' | 'swapping' | 'completed' | 'failed';
  startedAt: string;
  completedAt: string | null;
  rowsTotal: number | null;
  error: string | null;
}

/** The initial snapshot, as a zero-downtime rebuild of the synced table (an incremental snapshot). */
async function snapshot(suite: Suite, table: string, rows: number) {
  const url = `${env.adminUrl}/v1/tables/public.${table}/rebuild`;
  const from = suite.mark();
  const requested = Date.now();
  const { body: started } = await httpJson<RebuildProgress>('POST', url, {
    expect: [202],
    headers: env.adminHeaders,
  });
  log(`snapshot: rebuild ${started.id} of ${table}`);
  const firstSeen: Partial<Record<RebuildProgress['state'], number>> = {};
  let progress = started;
  for (;;) {
    await sleep(500);
    progress = (await httpJson<RebuildProgress>('GET', url, { headers: env.adminHeaders })).body;
    if (firstSeen[progress.state] === undefined) {
      firstSeen[progress.state] = Date.now();
      log(`  ${round((Date.now() - requested) / 1000, 1)} s ${progress.state}`);
    }
    if (progress.state === 'completed') break;
    if (progress.state === 'failed') {
      throw new BenchError(
        `rebuild ${progress.id} failed: ${progress.error ?? 'no error given'}; check .stack/logs/connector-admin.log`,
      );
    }
    if (Date.now() - requested > timeoutFor(rows) * 2) {
      throw new BenchError(`rebuild ${progress.id} still ${progress.state}: ${pipelineHint}`);
    }
  }
  suite.record('snapshot', from);
  const rowsTotal = progress.rowsTotal ?? rows;
  const seconds = (Date.parse(progress.completedAt ?? '') - Date.parse(progress.startedAt)) / 1000;
  const fillSeconds =
    firstSeen.filling !== undefined && firstSeen.catching_up !== undefined
      ? (firstSeen.catching_up - firstSeen.filling) / 1000
      : null;
  return {
    rows: rowsTotal,
    docsPerSec: round(rowsTotal / seconds),
    seconds: round(seconds, 1),
    fillDocsPerSec: fillSeconds ? round(rowsTotal / fillSeconds) : null,
    fillSeconds: fillSeconds === null ? null : round(fillSeconds, 1),
    how: 'a Debezium incremental snapshot (resync) into a new index generation, through the rebuild (POST /v1/tables/{table}/rebuild; docsPerSec = rowsTotal / (completedAt − startedAt), fillDocsPerSec = rowsTotal / (first `filling` → first `catching_up` sample, 500 ms polling))',
  };
}

/** End to end: one INSERT of `rows` rows → all searchable through the stack's alias. */
async function endToEnd(suite: Suite, table: string, rows: number) {
  const alias = `${env.indexPrefix}.public.${table}`;
  const committed = await insertBenchTable(suite, table, rows);
  const from = suite.mark();
  from.at = committed;
  const arrival = await waitForDocuments(env.searchUrl, alias, rows, {
    timeoutMs: timeoutFor(rows),
    what: pipelineHint,
  });
  suite.record('endToEnd', from);
  const seconds = (arrival.doneAt - committed) / 1000;
  log(`  end to end: ${round(rows / seconds)} docs/s (${round(seconds, 1)} s)`);
  return {
    rows,
    docsPerSec: round(rows / seconds),
    seconds: round(seconds, 1),
    firstDocumentsSeconds: round((arrival.firstAt - committed) / 1000, 1),
  };
}

async function streaming(suite: Suite, table: string, rate: number, seconds: number) {
  const alias = `${env.indexPrefix}.public.${table}`;
  const prefill = 10_000;
  log(`streaming: ${table} with ${prefill} rows, then ${rate} changes/s for ${seconds} s`);
  suite.tables.push(table);
  await prefillStreamingTable(env, suite.db, table, alias, prefill);
  const refreshMs = await refreshIntervalMs(env.searchUrl, alias);
  const from = suite.mark();
  const result: StreamingResult = await runStreaming(env, {
    table,
    alias,
    topic: `${env.topicPrefix}.public.${table}`,
    rate,
    seconds,
    prefill,
  });
  suite.record('streaming', from);
  log(
    `  streaming: ${result.achievedRate} changes/s, p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms (${result.measured} measured)`,
  );
  return { ...result, refreshMs };
}

/** The API benchmark, run as it is (its own table and API process), its summary parsed. */
async function api(suite: Suite) {
  const script = resolve(__dirname, 'api-search-bench.js');
  log('api: node dist/bench/api-search-bench.js --seconds 5');
  const child = spawn(process.execPath, [script, '--seconds', '5'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  suite.children.add(child);
  const from = suite.mark();
  const childrenBefore = exitedChildrenCpuSeconds();
  // Its process tree (it starts an API process of its own), sampled while it runs: the API
  // child may outlive it and never be counted as an exited child of ours.
  let treeSeconds = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) {
      treeSeconds = Math.max(treeSeconds, cpuSeconds({ tree: child.pid }).tree);
    }
  }, 500);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  clearInterval(sampler);
  suite.children.delete(child);
  suite.record('api', from, {
    children: [
      'api-search-bench',
      Math.max(treeSeconds, exitedChildrenCpuSeconds() - childrenBefore),
    ],
  });
  if (code !== 0) {
    throw new BenchError(`api-search-bench exited ${code}: ${(stderr || stdout).slice(-1000)}`);
  }
  const line = (name: string) =>
    new RegExp(
      `^${name}\\s+p50 ([\\d.]+) ms\\s+p95 ([\\d.]+) ms\\s+p99 ([\\d.]+) ms\\s+(\\d+) req/s`,
      'm',
    ).exec(stdout);
  const engine = line('OpenSearch');
  const viaApi = line('API');
  if (!engine || !viaApi) {
    throw new BenchError(
      `cannot read api-search-bench's summary (did its output change?): ${stdout.slice(-800)}`,
    );
  }
  const p50Ms = Number(viaApi[1]);
  const directP50Ms = Number(engine[1]);
  const apiRps = Number(viaApi[4]);
  const directRps = Number(engine[4]);
  return {
    p50Ms,
    p99Ms: Number(viaApi[3]),
    directP50Ms,
    directP99Ms: Number(engine[3]),
    p50OverheadMs: round(p50Ms - directP50Ms, 2),
    requestsPerSec: apiRps,
    directRequestsPerSec: directRps,
    throughputRatio: round(apiRps / directRps, 2),
  };
}

// ---------------------------------------------------------------------------------------------

type Report = Awaited<ReturnType<typeof run>>;

function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

function formatRatio(n: number | null | undefined): string {
  return n === null || n === undefined ? 'n/a' : n.toFixed(2);
}

function markdown(report: Report): string {
  const r = report;
  const rows: (string | number)[][] = [];
  if (r.rawBulk) {
    rows.push([
      'raw `_bulk` straight to OpenSearch',
      formatNumber(r.rawBulk.docsPerSec),
      '1.00',
      `${r.rawBulk.docs.toLocaleString('en-US')} in-memory docs, ${r.rawBulk.bulkSize} a request, ${r.rawBulk.concurrency} in flight (${Object.entries(
        r.rawBulk.byConcurrency,
      )
        .map(([c, rate]) => `${c}: ${formatNumber(rate)}`)
        .join(', ')})`,
    ]);
  }
  if (r.snapshot) {
    rows.push([
      `initial snapshot, ${r.snapshot.rows.toLocaleString('en-US')} rows (rebuild → completed)`,
      formatNumber(r.snapshot.docsPerSec),
      formatRatio(r.snapshot.ratio),
      `incremental snapshot into a new generation, ${r.snapshot.seconds} s; fill only ${formatNumber(r.snapshot.fillDocsPerSec)} docs/s (${formatRatio(r.snapshot.fillRatio)})`,
    ]);
  }
  if (r.debeziumToKafka) {
    rows.push([
      'Debezium → Kafka alone (indexer held)',
      formatNumber(r.debeziumToKafka.docsPerSec),
      formatRatio(r.debeziumToKafka.ratio),
      `${r.debeziumToKafka.rows.toLocaleString('en-US')} rows in one INSERT, commit → all in the topic`,
    ]);
  }
  if (r.drain) {
    rows.push([
      'indexer drain alone (topic pre-filled)',
      formatNumber(r.drain.docsPerSec),
      formatRatio(r.drain.ratio),
      `${r.drain.events.toLocaleString('en-US')} events, first → last docs; with process start ${formatNumber(r.drain.withStartupDocsPerSec)} (${formatRatio(r.drain.withStartupRatio)}); peak RSS ${r.indexerPeakRssMb} MB`,
    ]);
  }
  if (r.endToEnd) {
    rows.push([
      'end to end, INSERT → searchable',
      formatNumber(r.endToEnd.docsPerSec),
      formatRatio(r.endToEnd.ratio),
      `${r.endToEnd.rows.toLocaleString('en-US')} rows in one INSERT, commit → \`_count\``,
    ]);
  }
  if (r.streaming) {
    const s = r.streaming;
    rows.push([
      `streaming ${s.rate} changes/s for ${s.seconds} s`,
      formatNumber(s.achievedRate),
      '—',
      `commit → searchable p50 ${s.p50Ms} ms, p95 ${s.p95Ms} ms, p99 ${s.p99Ms} ms (${s.measured}/${s.written.inserts + s.written.updates} measured, ${s.unseen} unseen); refresh ${s.refreshMs} ms; max lag ${s.maxLag ?? 'n/a'}`,
    ]);
  }
  if (r.api) {
    rows.push([
      'API search vs OpenSearch direct',
      '—',
      '—',
      `p50 ${r.api.p50Ms} ms vs ${r.api.directP50Ms} ms (+${r.api.p50OverheadMs} ms); throughput ${r.api.throughputRatio}×`,
    ]);
  }
  const stages = [...new Set(Object.values(r.cpuSeconds).flatMap((s) => Object.keys(s)))];
  const components = Object.keys(r.cpuSeconds).sort(
    (a, b) =>
      Object.values(r.cpuSeconds[b]).reduce((x, y) => x + y, 0) -
      Object.values(r.cpuSeconds[a]).reduce((x, y) => x + y, 0),
  );
  const cpu = markdownTable(
    ['CPU seconds', ...stages],
    components.map((c) => [c, ...stages.map((s) => r.cpuSeconds[c][s] ?? 0)]),
  );
  const m = r.machine;
  return [
    `## Benchmark suite${r.quick ? ' (--quick)' : ''}: ${m.cpus} cores, ${m.memGb} GB, Node ${m.node}, ${r.startedAt}`,
    '',
    markdownTable(['stage', 'docs/s', '÷ raw `_bulk`', 'note'], rows),
    '',
    cpu,
    '',
    ...(r.disturbances.length
      ? [
          'Disturbances (the numbers are not those of a quiet box):',
          ...r.disturbances.map((d) => `- ${d}`),
        ]
      : ['No disturbances seen.']),
    '',
  ].join('\n');
}

async function preflight(): Promise<void> {
  const services = stackServices(env.stateFile);
  for (const name of ['postgres', 'kafka', 'kafka-connect', 'opensearch']) {
    if (!services[name]) {
      throw new BenchError(
        `${name} is not running in ${env.stateFile}: start the stack (./searchsync up --detach)`,
      );
    }
  }
  await httpJson('GET', `${env.searchUrl}/_cluster/health`).catch((error: unknown) => {
    throw new BenchError(`OpenSearch does not answer at ${env.searchUrl} (SEARCH_URL)`, {
      cause: error,
    });
  });
}

async function run(options: Options, suite: Suite) {
  const stamp = Date.now().toString(36);
  const want = (stage: Stage) => options.only.has(stage);
  const report = {
    machine: { ...machineInfo(), loadAverageBefore: loadavg().map((l) => round(l, 2)) },
    quick: options.quick,
    startedAt: new Date().toISOString(),
    stages: [...options.only],
    rawBulk: null as RawBulkResult | null,
    snapshot: null as
      | (Awaited<ReturnType<typeof snapshot>> & { ratio: number | null; fillRatio: number | null })
      | null,
    debeziumToKafka: null as
      (Awaited<ReturnType<typeof debeziumToKafka>> & { ratio: number | null }) | null,
    drain: null as
      | (Awaited<ReturnType<typeof drain>> & {
          ratio: number | null;
          withStartupRatio: number | null;
        })
      | null,
    endToEnd: null as (Awaited<ReturnType<typeof endToEnd>> & { ratio: number | null }) | null,
    streaming: null as Awaited<ReturnType<typeof streaming>> | null,
    api: null as Awaited<ReturnType<typeof api>> | null,
    indexerPeakRssMb: null as number | null,
    cpuSeconds: suite.cpuSeconds,
    disturbances: suite.disturbances,
    durationSeconds: 0,
  };
  const began = Date.now();
  const raw = () => report.rawBulk?.docsPerSec ?? null;

  if (want('rawBulk')) report.rawBulk = await rawBulk(suite, options.rawDocs, stamp);

  const table = `bench_suite_${stamp}`;
  if (want('debeziumToKafka') || want('drain')) {
    try {
      await suite.holdIndexer();
      const d2k = await debeziumToKafka(suite, table, options.rows);
      report.debeziumToKafka = { ...d2k, ratio: ratioOf(d2k.docsPerSec, raw()) };
      if (want('drain')) {
        const drained = await drain(suite, table, options.rows, d2k.records, stamp);
        report.drain = {
          ...drained,
          ratio: ratioOf(drained.docsPerSec, raw()),
          withStartupRatio: ratioOf(drained.withStartupDocsPerSec, raw()),
        };
        report.indexerPeakRssMb = drained.peakRssMb;
      }
    } finally {
      await suite.releaseIndexer();
    }
    log(`waiting for the stack indexer to index ${table} (not measured)`);
    await waitForDocuments(env.searchUrl, `${env.indexPrefix}.public.${table}`, options.rows, {
      pollMs: 1000,
      timeoutMs: timeoutFor(options.rows),
      what: pipelineHint,
    });
  }

  if (want('snapshot')) {
    if (!suite.tables.includes(table)) {
      await insertBenchTable(suite, table, options.rows);
      log(`waiting for the pipeline to index ${table} (not measured)`);
      await waitForDocuments(env.searchUrl, `${env.indexPrefix}.public.${table}`, options.rows, {
        pollMs: 1000,
        timeoutMs: timeoutFor(options.rows),
        what: pipelineHint,
      });
    }
    const s = await snapshot(suite, table, options.rows);
    report.snapshot = {
      ...s,
      ratio: ratioOf(s.docsPerSec, raw()),
      fillRatio: ratioOf(s.fillDocsPerSec, raw()),
    };
  }

  if (want('endToEnd')) {
    const e = await endToEnd(suite, `bench_suite_e2e_${stamp}`, options.endToEndRows);
    report.endToEnd = { ...e, ratio: ratioOf(e.docsPerSec, raw()) };
  }

  if (want('streaming')) {
    report.streaming = await streaming(
      suite,
      `bench_suite_stream_${stamp}`,
      options.rate,
      options.seconds,
    );
  }

  if (want('api')) report.api = await api(suite);

  report.durationSeconds = round((Date.now() - began) / 1000);
  return report;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2), env.root);
  await preflight();
  const db = new Client({ connectionString: env.databaseUrl });
  await db.connect().catch((error: unknown) => {
    throw new BenchError(`cannot connect to PostgreSQL at ${env.databaseUrl} (DATABASE_URL)`, {
      cause: error,
    });
  });
  const suite = new Suite(db);
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: cleaning up (releasing the indexer, dropping the bench tables)`);
    void suite.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await run(options, suite);
    await suite.cleanup();
    const table = markdown(report);
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    const md = options.out.replace(/\.json$/, '') + '.md';
    writeFileSync(md, table);
    process.stdout.write(table);
    log(`results: ${options.out}, ${md} (${report.durationSeconds} s)`);
  } finally {
    await suite.cleanup();
    await suite.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
