/**
 * Benchmark (not a test): the zero-downtime rebuild (POST /v1/tables/{table}/rebuild) against the
 * raw `_bulk` ceiling measured in the same run — the table's own documents bulk-written into a
 * scratch index with the same mapping and settings, by a minimal loop.
 *
 *   ./searchsync up --detach
 *   node dist/bench/rebuild-bench.js [rows=100000] [--writes 100] [--bulk-size 2000]
 *     [--concurrency 2] [--out bench/results/rebuild-latest.json]
 *
 * Env: DATABASE_URL, SEARCH_URL, ADMIN_URL, ADMIN_API_KEY (only when the admin has keys),
 * SEARCHSYNC_INDEX_PREFIX, SEARCHSYNC_STACK_STATE (the supervisor's state file, for the pids
 * whose CPU is sampled).
 *
 * Progress goes to stderr; the Markdown summary to stdout; the JSON to --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Client } from 'pg';
import type { RebuildProgress as AdminRebuildProgress } from '../apps/connector-admin/src/rebuild-progress';
import type { VerifyResult as AdminVerifyResult } from '../apps/connector-admin/src/verify.service';
import {
  BENCH_ROWS_SQL,
  BENCH_TABLE_DDL,
  BenchError,
  cpuBetween,
  cpuSeconds,
  httpJson,
  machineInfo,
  markdownTable,
  promSums,
  sleep,
  restartedBetween,
  stackPids,
  stackServices,
  type CpuUse,
} from './bench-common';

const root = resolve(__dirname, '..', '..');

function parseArgs(argv: string[]) {
  const options = {
    rows: 100_000,
    writes: 0,
    bulkSize: 2000,
    concurrency: 2,
    out: resolve(root, 'bench/results/rebuild-latest.json'),
  };
  const number = (name: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) {
      throw new BenchError(`--${name} needs an integer >= ${min}, got ${value ?? 'nothing'}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--writes') options.writes = number('writes', argv[++i], 0);
    else if (arg === '--bulk-size') options.bulkSize = number('bulk-size', argv[++i], 1);
    else if (arg === '--concurrency') options.concurrency = number('concurrency', argv[++i], 1);
    else if (arg === '--out') {
      const out = argv[++i];
      if (!out) throw new BenchError('--out needs a file path');
      options.out = resolve(out);
    } else if (/^\d+$/.test(arg)) options.rows = number('rows', arg, 1);
    else {
      throw new BenchError(
        `unknown argument ${arg}: usage: rebuild-bench.js [rows] [--writes R] [--bulk-size N] [--concurrency C] [--out file]`,
      );
    }
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/app';
const searchUrl = (process.env.SEARCH_URL ?? 'http://127.0.0.1:9200').replace(/\/$/, '');
const adminUrl = (process.env.ADMIN_URL ?? 'http://127.0.0.1:3001').replace(/\/$/, '');
const adminHeaders: Record<string, string> = process.env.ADMIN_API_KEY
  ? { authorization: `Bearer ${process.env.ADMIN_API_KEY}` }
  : {};
const prefix = process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync';
const stateFile = process.env.SEARCHSYNC_STACK_STATE ?? resolve(root, '.stack/state.json');
const indexerMetricsUrl = process.env.INDEXER_METRICS_URL ?? 'http://127.0.0.1:3002/metrics';

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The fields of GET /v1/tables/{table}/rebuild this benchmark reads, as the admin answers them. */
type RebuildProgress = Pick<
  AdminRebuildProgress,
  | 'id'
  | 'state'
  | 'index'
  | 'previous'
  | 'startedAt'
  | 'completedAt'
  | 'rowsTotal'
  | 'rowsDone'
  | 'docsPerSecond'
  | 'error'
>;

/** The fields of POST /v1/tables/{table}/verify this benchmark reads. */
type VerifyResult = Pick<
  AdminVerifyResult,
  | 'rows'
  | 'documents'
  | 'missing'
  | 'extra'
  | 'mismatched'
  | 'missingTotal'
  | 'extraTotal'
  | 'mismatchedTotal'
  | 'durationMs'
>;

interface Sample {
  /** ms since the rebuild was requested. */
  at: number;
  state: RebuildProgress['state'];
  rowsDone: number;
  /** Index operations the new generation has taken (OpenSearch `_stats`). */
  indexed: number | null;
}

async function count(index: string): Promise<number> {
  await fetch(`${searchUrl}/${index}/_refresh`, { method: 'POST' }).catch(() => undefined);
  const response = await fetch(`${searchUrl}/${index}/_count`).catch(() => undefined);
  if (!response?.ok) return 0;
  return ((await response.json()) as { count: number }).count;
}

async function indexExists(index: string): Promise<boolean> {
  const response = await fetch(`${searchUrl}/${index}`, { method: 'HEAD' });
  return response.status === 200;
}

async function createTable(db: Client, table: string, rows: number): Promise<void> {
  await db.query(`create table ${table} ${BENCH_TABLE_DDL}`);
  await db.query(BENCH_ROWS_SQL(table), [rows]);
}

async function waitForDocuments(alias: string, rows: number): Promise<number> {
  const began = Date.now();
  let last = -1;
  for (;;) {
    const documents = await count(alias);
    if (documents >= rows) return (Date.now() - began) / 1000;
    if (documents !== last && (documents === 0 || documents - last >= rows / 10)) {
      log(`  ${documents}/${rows} documents in ${alias}`);
      last = documents;
    }
    if (Date.now() - began > 20 * 60_000) {
      throw new BenchError(
        `the pipeline indexed ${documents} of ${rows} rows in 20 minutes: check GET ${adminUrl}/v1/pipeline and .stack/logs/indexer.log`,
      );
    }
    await sleep(1000);
  }
}

/** Settings that describe an existing index rather than configure a new one. */
const PRIVATE_SETTING =
  /^index\.(uuid|creation_date|provided_name|version\.|history\.uuid|resize\.|routing\.allocation\.initial_recovery|verified_before_close)/;

/**
 * The raw `_bulk` ceiling: every document of the live index, read once into memory and
 * serialised before the clock starts, bulk-written into a scratch index with the live index's
 * mapping and settings (refresh off, as the rebuild's new generation has it), then refreshed.
 */
async function rawBulk(alias: string, scratch: string, rows: number) {
  const { body: aliases } = await httpJson<Record<string, unknown>>(
    'GET',
    `${searchUrl}/_alias/${alias}`,
  );
  const [live] = Object.keys(aliases);
  if (!live) throw new BenchError(`alias ${alias} points at no index`);
  const { body: mappings } = await httpJson<Record<string, { mappings: unknown }>>(
    'GET',
    `${searchUrl}/${live}/_mapping`,
  );
  const { body: settings } = await httpJson<Record<string, { settings: Record<string, unknown> }>>(
    'GET',
    `${searchUrl}/${live}/_settings?flat_settings=true`,
  );
  const copied = Object.fromEntries(
    Object.entries(settings[live].settings).filter(([key]) => !PRIVATE_SETTING.test(key)),
  );

  const bodies: string[] = [];
  let chunk: string[] = [];
  let read = 0;
  let page = await httpJson<{
    _scroll_id: string;
    hits: { hits: { _id: string; _source: unknown }[] };
  }>('POST', `${searchUrl}/${alias}/_search?scroll=2m`, {
    body: { size: 5000, sort: ['_doc'], query: { match_all: {} } },
  });
  while (page.body.hits.hits.length > 0) {
    for (const hit of page.body.hits.hits) {
      chunk.push(`{"index":{"_id":${JSON.stringify(hit._id)}}}\n${JSON.stringify(hit._source)}\n`);
      if (chunk.length === options.bulkSize) {
        bodies.push(chunk.join(''));
        chunk = [];
      }
      read += 1;
    }
    page = await httpJson('POST', `${searchUrl}/_search/scroll`, {
      body: { scroll: '2m', scroll_id: page.body._scroll_id },
    });
  }
  if (chunk.length > 0) bodies.push(chunk.join(''));
  await httpJson('DELETE', `${searchUrl}/_search/scroll`, {
    body: { scroll_id: page.body._scroll_id },
    expect: [200, 404],
  });
  if (read !== rows) throw new BenchError(`read ${read} documents from ${alias}, expected ${rows}`);
  const bytes = bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0);

  await httpJson('PUT', `${searchUrl}/${scratch}`, {
    body: {
      settings: { ...copied, 'index.refresh_interval': '-1' },
      mappings: mappings[live].mappings,
    },
  });
  const services = stackServices(stateFile);
  const cpuBefore = cpuSeconds(stackPids(stateFile));
  const began = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const response = await fetch(
          `${searchUrl}/${scratch}/_bulk?filter_path=errors,items.*.error`,
          { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body },
        );
        const result = (await response.json()) as { errors?: boolean; items?: unknown[] };
        if (!response.ok || result.errors) {
          throw new BenchError(
            `raw bulk into ${scratch} failed (${response.status}): ${JSON.stringify(result).slice(0, 500)}`,
          );
        }
      }
    }),
  );
  await httpJson('POST', `${searchUrl}/${scratch}/_refresh`);
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const cpu = cpuBetween(cpuBefore, cpuSeconds(stackPids(stateFile)), seconds);
  const restarted = restartedBetween(services, stackServices(stateFile));
  const written = await count(scratch);
  if (written !== rows) throw new BenchError(`scratch index holds ${written} of ${rows} documents`);
  return {
    index: live,
    seconds,
    docsPerSec: rows / seconds,
    megabytes: bytes / 1e6,
    cpu,
    restarted,
  };
}

/** `rate` single-row update transactions per second on random rows, until stopped. */
function startWriter(table: string, rows: number, rate: number) {
  const db = new Client({ connectionString: databaseUrl });
  let stopped = false;
  let done = 0;
  const began = Date.now();
  const running = (async () => {
    await db.connect();
    try {
      while (!stopped) {
        const due = Math.floor(((Date.now() - began) / 1000) * rate);
        while (done < due && !stopped) {
          done += 1;
          await db.query(
            `update ${table} set title = 'updated ' || $2::text, amount = amount + 1, at = now(),
               doc = doc || jsonb_build_object('v', $2::int) where id = $1`,
            [1 + Math.floor(Math.random() * rows), done],
          );
        }
        await sleep(5);
      }
    } finally {
      await db.end();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      const seconds = (Date.now() - began) / 1000;
      return { transactions: done, perSecond: round(done / seconds, 1) };
    },
  };
}

/** Indexer counters sampled at each phase boundary (INDEXER_METRICS_URL). */
const INDEXER_METRICS = [
  'searchsync_indexer_bulk_duration_seconds_sum',
  'searchsync_indexer_bulk_duration_seconds_count',
  'searchsync_indexer_consumer_restarts_total',
  'searchsync_indexer_subscribed_topics',
];

interface Mark {
  state: RebuildProgress['state'];
  at: number;
  cpu: Record<string, number>;
  indexer: Record<string, number> | null;
}

async function mark(state: RebuildProgress['state']): Promise<Mark> {
  return {
    state,
    at: Date.now(),
    cpu: cpuSeconds(stackPids(stateFile)),
    indexer: await promSums(indexerMetricsUrl, INDEXER_METRICS),
  };
}

/** What a phase cost: CPU per component, and how busy the indexer kept OpenSearch with bulks. */
function phaseCost(from: Mark, to: Mark) {
  const seconds = (to.at - from.at) / 1000;
  const delta = (name: string) =>
    from.indexer && to.indexer ? to.indexer[name] - from.indexer[name] : null;
  const bulkSeconds = delta('searchsync_indexer_bulk_duration_seconds_sum');
  return {
    seconds: round(seconds, 1),
    cpu: cpuBetween(from.cpu, to.cpu, seconds),
    indexer: {
      bulks: delta('searchsync_indexer_bulk_duration_seconds_count'),
      bulkSeconds: bulkSeconds === null ? null : round(bulkSeconds, 1),
      /** Share of the phase the indexer had a bulk request in flight (summed over requests). */
      bulkBusy: bulkSeconds === null ? null : round(bulkSeconds / seconds, 2),
      consumerRestarts: delta('searchsync_indexer_consumer_restarts_total'),
      /** Other tables appearing make the consumer group re-join (a pause in consumption). */
      topicsAdded: delta('searchsync_indexer_subscribed_topics'),
    },
  };
}

/** Index operations the new generation has taken (counted without a refresh). */
async function indexOperations(index: string): Promise<number | null> {
  const response = await fetch(
    `${searchUrl}/${index}/_stats/indexing?filter_path=indices.*.primaries.indexing.index_total`,
  ).catch(() => undefined);
  if (!response?.ok) return null;
  const body = (await response.json()) as {
    indices?: Record<string, { primaries: { indexing: { index_total: number } } }>;
  };
  const [stats] = Object.values(body.indices ?? {});
  return stats?.primaries.indexing.index_total ?? null;
}

async function rebuild(table: string) {
  const url = `${adminUrl}/v1/tables/${table}/rebuild`;
  const services = stackServices(stateFile);
  const first = await mark('starting');
  const requested = first.at;
  const { body: started } = await httpJson<RebuildProgress>('POST', url, {
    expect: [202],
    headers: adminHeaders,
  });
  log(`  rebuild ${started.id}: ${started.index} (was ${started.previous.join(', ')})`);
  const samples: Sample[] = [];
  // Sampled at each state change, so each phase's cost can be told apart.
  const marks: Mark[] = [first];
  let progress = started;
  for (;;) {
    await sleep(500);
    const [current, indexed] = await Promise.all([
      httpJson<RebuildProgress>('GET', url, { headers: adminHeaders }),
      indexOperations(started.index),
    ]);
    progress = current.body;
    samples.push({
      at: Date.now() - requested,
      state: progress.state,
      rowsDone: progress.rowsDone,
      indexed,
    });
    if (marks[marks.length - 1].state !== progress.state) {
      marks.push(await mark(progress.state));
      log(`  ${round((Date.now() - requested) / 1000, 1)}s ${progress.state}`);
    }
    if (progress.state === 'completed') break;
    if (progress.state === 'failed') {
      throw new BenchError(`rebuild ${progress.id} failed: ${progress.error ?? 'no error given'}`);
    }
    if (Date.now() - requested > 30 * 60_000) {
      throw new BenchError(`rebuild ${progress.id} still ${progress.state} after 30 minutes`);
    }
  }
  const restarted = restartedBetween(services, stackServices(stateFile));
  const last = marks[marks.length - 1];
  const byPhase = Object.fromEntries(
    marks.slice(0, -1).map((m, i) => [m.state, phaseCost(m, marks[i + 1])]),
  );
  // Older admins report completed at the swap and drop the old generation afterwards.
  while (
    (await Promise.all(progress.previous.map(indexExists))).some(Boolean) &&
    Date.now() - last.at < 60_000
  ) {
    await sleep(250);
  }
  return {
    progress,
    samples,
    requested,
    oldGenerationGoneAt: Date.now(),
    total: phaseCost(first, last),
    byPhase,
    restarted,
  };
}

type RebuildRun = Awaited<ReturnType<typeof rebuild>>;

/**
 * Where the time went. The admin's own startedAt/completedAt bound the whole rebuild; the state
 * changes in between are seen by 500 ms polling, so each boundary is late by up to 0.5 s.
 */
function phases(run: RebuildRun, rows: number) {
  const { progress, samples } = run;
  const firstSeen = (state: Sample['state']) => samples.find((s) => s.state === state)?.at ?? null;
  const startedAt = Date.parse(progress.startedAt);
  const completedAt = Date.parse(progress.completedAt ?? '');
  const seconds = (completedAt - startedAt) / 1000;
  const sinceStart = (at: number | null) =>
    at === null ? null : (run.requested + at - startedAt) / 1000;
  const filling = sinceStart(firstSeen('filling'));
  const catchingUp = sinceStart(firstSeen('catching_up'));
  // An admin without a `swapping` state reports completed at the swap.
  const swap = sinceStart(firstSeen('swapping')) ?? seconds;
  const fillSeconds = filling !== null && catchingUp !== null ? catchingUp - filling : null;
  // Index operations into the new generation: first sample with any to first with all.
  const firstOp = samples.find((s) => (s.indexed ?? 0) > 0);
  const allOps = samples.find((s) => (s.indexed ?? 0) >= rows);
  const indexingSeconds =
    firstOp && allOps && allOps.at > firstOp.at ? (allOps.at - firstOp.at) / 1000 : null;
  const indexedWhenFillEnded = samples.find((s) => s.state === 'catching_up')?.indexed ?? null;
  return {
    seconds,
    docsPerSec: rows / seconds,
    toSwapSeconds: swap,
    toSwapDocsPerSec: rows / swap,
    fillSeconds,
    fillDocsPerSec: fillSeconds ? rows / fillSeconds : null,
    indexingSeconds,
    indexingDocsPerSec:
      indexingSeconds && firstOp ? (rows - (firstOp.indexed ?? 0)) / indexingSeconds : null,
    startToFillingSeconds: filling,
    catchingUpToSwapSeconds: catchingUp === null ? null : swap - catchingUp,
    swapToCompletedSeconds: seconds - swap,
    completedToOldGoneSeconds: (run.oldGenerationGoneAt - completedAt) / 1000,
    indexedWhenFillEnded,
  };
}

async function verify(
  table: string,
  writes: boolean,
): Promise<VerifyResult & { attempts: number }> {
  // With writes, the last updates may still be on their way to the index: a few tries apart.
  const attempts = writes ? 6 : 1;
  let result: VerifyResult | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    result = (
      await httpJson<VerifyResult>('POST', `${adminUrl}/v1/tables/${table}/verify`, {
        headers: adminHeaders,
      })
    ).body;
    if (result.missingTotal + result.extraTotal + result.mismatchedTotal === 0) {
      return { ...result, attempts: attempt };
    }
    if (attempt < attempts) await sleep(5000);
  }
  return { ...(result as VerifyResult), attempts };
}

function cpuLine(cpu: CpuUse[]): string {
  return cpu
    .filter((c) => c.cpuSeconds > 0)
    .map((c) => `${c.component} ${c.cpuSeconds}s (${c.cores} cores)`)
    .join(', ');
}

async function main(): Promise<void> {
  const rows = options.rows;
  const stamp = Date.now().toString(36);
  const table = `bench_rebuild_${stamp}`;
  const alias = `${prefix}.public.${table}`.toLowerCase();
  const scratch = `bench-rebuild-baseline-${stamp}`;
  const machine = machineInfo();
  const loadBefore = loadavg().map((l) => round(l, 2));
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  let failed = false;
  try {
    log(`creating ${table} with ${rows} rows`);
    await createTable(db, table, rows);
    const initialSeconds = await waitForDocuments(alias, rows);
    log(`  indexed by the pipeline in ${round(initialSeconds, 1)}s`);

    log(
      `raw _bulk into ${scratch} (${options.bulkSize} docs a request, ${options.concurrency} at once)`,
    );
    const raw = await rawBulk(alias, scratch, rows);
    await httpJson('DELETE', `${searchUrl}/${scratch}`, { expect: [200, 404] });
    log(
      `  ${round(raw.docsPerSec)} docs/s (${round(raw.seconds, 2)}s, ${round(raw.megabytes, 1)} MB)`,
    );

    log(`rebuild of ${table}${options.writes ? ` with ${options.writes} update tx/s` : ''}`);
    const writer = options.writes ? startWriter(table, rows, options.writes) : null;
    let result: RebuildRun;
    let written: { transactions: number; perSecond: number } | null = null;
    try {
      result = await rebuild(table);
    } finally {
      written = (await writer?.stop()) ?? null;
    }
    const rowsTotal = result.progress.rowsTotal ?? rows;
    const p = phases(result, rowsTotal);

    log(`verify ${table}`);
    const checked = await verify(table, writer !== null);
    const clean = checked.missingTotal + checked.extraTotal + checked.mismatchedTotal === 0;

    // Other work on the box competes for the same cores: say so rather than publish its effect.
    const foreign = result.total.cpu.find((c) => c.component === 'other')?.cores ?? 0;
    const attributed = Object.keys(stackPids(stateFile)).length > 0;
    const disturbances = [
      ...(attributed
        ? []
        : [
            `no running services in ${stateFile}: CPU is not attributed to components (set SEARCHSYNC_STACK_STATE)`,
          ]),
      ...raw.restarted.map((name) => `${name} restarted during the raw bulk`),
      ...result.restarted.map((name) => `${name} restarted during the rebuild`),
      ...(foreign > 0.25
        ? [`processes outside the stack used ${foreign} cores during the rebuild`]
        : []),
      ...(result.total.indexer.topicsAdded
        ? [
            `${result.total.indexer.topicsAdded} other table topic(s) appeared during the rebuild (consumer group re-joins)`,
          ]
        : []),
      ...(result.total.indexer.consumerRestarts
        ? [`the indexer's consumer restarted ${result.total.indexer.consumerRestarts} time(s)`]
        : []),
    ];

    const ratio = (rate: number | null) => (rate === null ? null : round(rate / raw.docsPerSec, 3));
    const maybe = (n: number | null, digits = 0) => (n === null ? null : round(n, digits));
    const report = {
      machine: { ...machine, loadAverageBefore: loadBefore },
      rows,
      table,
      initialLoadSeconds: round(initialSeconds, 1),
      rawBulk: {
        docsPerSec: round(raw.docsPerSec),
        seconds: round(raw.seconds, 2),
        bulkSize: options.bulkSize,
        concurrency: options.concurrency,
        megabytes: round(raw.megabytes, 1),
        cpu: raw.cpu,
      },
      rebuild: {
        docsPerSec: round(p.docsPerSec),
        ratio: ratio(p.docsPerSec),
        fillDocsPerSec: maybe(p.fillDocsPerSec),
        fillRatio: ratio(p.fillDocsPerSec),
        seconds: round(p.seconds, 1),
        toSwapSeconds: round(p.toSwapSeconds, 1),
        toSwapDocsPerSec: round(p.toSwapDocsPerSec),
        toSwapRatio: ratio(p.toSwapDocsPerSec),
        indexingDocsPerSec: maybe(p.indexingDocsPerSec),
        indexingSeconds: maybe(p.indexingSeconds, 1),
        rowsTotal,
        phases: {
          startToFillingSeconds: maybe(p.startToFillingSeconds, 1),
          fillingSeconds: maybe(p.fillSeconds, 1),
          catchingUpToSwapSeconds: maybe(p.catchingUpToSwapSeconds, 1),
          swapToCompletedSeconds: round(p.swapToCompletedSeconds, 1),
          completedToOldGenerationGoneSeconds: round(p.completedToOldGoneSeconds, 1),
          indexedWhenFillEnded: p.indexedWhenFillEnded,
        },
        startedAt: result.progress.startedAt,
        completedAt: result.progress.completedAt,
        adminDocsPerSecond: result.progress.docsPerSecond,
        cost: result.total,
        costByPhase: result.byPhase,
        samples: result.samples,
      },
      writes: options.writes ? { requestedPerSecond: options.writes, ...written } : null,
      disturbances,
      verify: { clean, ...checked },
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);

    const fmt = (n: number | null) => (n === null ? 'n/a' : String(round(n)));
    const fmtRatio = (n: number | null) => (n === null ? 'n/a' : n.toFixed(2));
    const fmtSeconds = (n: number | null) => (n === null ? 'n/a' : String(round(n, 1)));
    console.log(
      `\n## Rebuild: ${rows} rows, ${machine.cpus} cores, ${machine.memGb} GB, Node ${machine.node}${options.writes ? `, ${written?.perSecond ?? 0} update tx/s during the rebuild` : ''}\n`,
    );
    console.log(
      markdownTable(
        ['stage', 'docs/s', 'ratio to raw bulk', 'seconds'],
        [
          ['raw `_bulk` ceiling', fmt(raw.docsPerSec), '1.00', round(raw.seconds, 2)],
          [
            'rebuild, startedAt → completedAt',
            fmt(p.docsPerSec),
            fmtRatio(report.rebuild.ratio),
            fmtSeconds(p.seconds),
          ],
          [
            'rebuild, startedAt → alias swapped',
            fmt(p.toSwapDocsPerSec),
            fmtRatio(report.rebuild.toSwapRatio),
            fmtSeconds(p.toSwapSeconds),
          ],
          [
            'fill only (`filling` → `catching_up`)',
            fmt(p.fillDocsPerSec),
            fmtRatio(report.rebuild.fillRatio),
            fmtSeconds(p.fillSeconds),
          ],
          [
            'indexing into the new generation (first → last op)',
            fmt(p.indexingDocsPerSec),
            fmtRatio(ratio(p.indexingDocsPerSec)),
            fmtSeconds(p.indexingSeconds),
          ],
        ],
      ),
    );
    console.log(
      `\nphases: starting ${fmtSeconds(p.startToFillingSeconds)}s, filling ${fmtSeconds(p.fillSeconds)}s (${p.indexedWhenFillEnded ?? 'n/a'} of ${rowsTotal} indexed when it ended), catching_up → swap ${fmtSeconds(p.catchingUpToSwapSeconds)}s, swap → completed ${round(p.swapToCompletedSeconds, 1)}s, completed → old generation gone ${round(p.completedToOldGoneSeconds, 1)}s`,
    );
    console.log(`CPU during the raw bulk: ${cpuLine(raw.cpu)}`);
    console.log(`CPU during the rebuild: ${cpuLine(result.total.cpu)}`);
    for (const [phase, cost] of Object.entries(result.byPhase)) {
      const bulk = cost.indexer;
      console.log(
        `  ${phase} (${cost.seconds}s): ${cpuLine(cost.cpu)}; indexer ${bulk.bulks ?? 'n/a'} bulks, in flight ${bulk.bulkBusy ?? 'n/a'} of the time`,
      );
    }
    if (written) {
      console.log(`writer: ${written.transactions} updates, ${written.perSecond} tx/s`);
    }
    console.log(
      `verify: ${clean ? 'clean' : 'NOT clean'} — ${checked.rows} rows, ${checked.documents} documents, missing ${checked.missingTotal}, extra ${checked.extraTotal}, mismatched ${checked.mismatchedTotal} (${checked.attempts} attempt(s), ${checked.durationMs} ms)`,
    );
    for (const line of disturbances) {
      console.log(`WARNING: ${line}: the rebuild numbers are not representative of a quiet box`);
    }
    console.log(`results: ${options.out}`);
    if (!clean) {
      failed = true;
      console.error(`verify found differences: ${JSON.stringify(checked).slice(0, 1000)}`);
    }
  } finally {
    await fetch(`${searchUrl}/${scratch}`, { method: 'DELETE' }).catch(() => undefined);
    await db.query(`drop table if exists ${table}`).catch(() => undefined);
    await db.end();
  }
  // The admin removes a dropped table's index on its own; say so when it does not.
  try {
    const dropped = Date.now();
    while ((await indexExists(alias)) && Date.now() - dropped < 60_000) await sleep(1000);
    if (await indexExists(alias)) log(`note: ${alias} still exists a minute after DROP TABLE`);
  } catch (error) {
    log(`note: could not check that ${alias} was removed: ${String(error)}`);
  }
  if (failed) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
