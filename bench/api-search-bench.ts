/**
 * Benchmark (not a test): the API's search latency and throughput against the same query sent
 * straight to OpenSearch. Needs a running stack (`./searchsync up --detach`); starts its own API
 * process on a free port with rate limiting off, and a table of its own.
 *
 *   node dist/bench/api-search-bench.js [--requests 2000] [--seconds 10] [--concurrency 16]
 *
 * Env: DATABASE_URL, SEARCH_URL (or SEARCHSYNC_SEARCH_PORT), SEARCHSYNC_INDEX_PREFIX.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildSearchBody, tableIndexNames } from '@searchsync/search-engine';
import { Client } from 'pg';
import { sleep } from '@searchsync/retry';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const REQUESTS = option('requests', 2000);
const SECONDS = option('seconds', 10);
const CONCURRENCY = option('concurrency', 16);
const searchUrl =
  process.env.SEARCH_URL ?? `http://127.0.0.1:${process.env.SEARCHSYNC_SEARCH_PORT ?? 9200}`;
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/app';
const prefix = process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

type Call = () => Promise<void>;

async function latencies(call: Call, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const began = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - began) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

async function throughput(call: Call, seconds: number, concurrency: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await call();
        done += 1;
      }
    }),
  );
  return done / seconds;
}

async function expectOk(response: Response): Promise<void> {
  if (!response.ok) throw new Error(`status ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function main(): Promise<void> {
  const table = `bench_api_${Date.now().toString(36)}`;
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  let api: ChildProcess | undefined;
  try {
    await db.query(
      `create table ${table} (id int primary key, name text, category text, price numeric(10,2), qty int)`,
    );
    await db.query(`insert into ${table}
      select g, (array['espresso','grinder','kettle','scale'])[g % 4 + 1] || ' model ' || g,
        (array['coffee','tea','kitchen'])[g % 3 + 1], g * 0.75, g % 50
      from generate_series(1, 20000) g`);
    const alias = tableIndexNames(prefix, { schema: 'public', table }).alias;
    process.stdout.write(`waiting for the pipeline to index 20000 rows of ${table} `);
    for (;;) {
      const response = await fetch(`${searchUrl}/${alias}/_count`).catch(() => undefined);
      const count = response?.ok ? ((await response.json()) as { count: number }).count : 0;
      if (count === 20000) break;
      process.stdout.write('.');
      await sleep(1000);
    }
    console.log(' done');

    const port = await freePort();
    api = spawn(process.execPath, [join(__dirname, '..', 'apps', 'api', 'src', 'main.js')], {
      env: { ...process.env, SEARCH_URL: searchUrl, API_PORT: String(port), API_RATE_LIMIT: '0' },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (i > 100) throw new Error('the API did not start');
      await sleep(200);
    }

    // The same search both ways: q, a filter, a sort, 20 hits (the API asks for one more).
    const apiPath = `/v1/tables/${table}/search?q=espresso&filter=category:eq:coffee&sort=price:desc&size=20`;
    const direct = JSON.stringify(
      buildSearchBody(
        {
          indices: [alias],
          text: { query: 'espresso', fields: ['name', 'category'] },
          filters: [{ kind: 'term', field: 'category.keyword', value: 'coffee', negate: false }],
          sort: [{ field: 'price', order: 'desc' }],
          size: 21,
          trackTotalHitsUpTo: 10_000,
          timeoutMs: 10_000,
        },
        { idField: '_id' },
      ),
    );
    const viaApi: Call = async () => expectOk(await fetch(`${base}${apiPath}`));
    const viaEngine: Call = async () =>
      expectOk(
        await fetch(`${searchUrl}/${alias}/_search`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: direct,
        }),
      );

    // Warm both paths (JIT, engine caches, catalogue).
    await latencies(viaApi, 300);
    await latencies(viaEngine, 300);
    const apiLatency = await latencies(viaApi, REQUESTS);
    const engineLatency = await latencies(viaEngine, REQUESTS);
    const apiRps = await throughput(viaApi, SECONDS, CONCURRENCY);
    const engineRps = await throughput(viaEngine, SECONDS, CONCURRENCY);

    const row = (name: string, l: number[], rps: number) =>
      `${name.padEnd(16)} p50 ${percentile(l, 50).toFixed(2)} ms  p95 ${percentile(l, 95).toFixed(2)} ms  p99 ${percentile(l, 99).toFixed(2)} ms  ${rps.toFixed(0)} req/s`;
    console.log(
      `\n${REQUESTS} sequential requests each; throughput over ${SECONDS}s at concurrency ${CONCURRENCY}`,
    );
    console.log(row('OpenSearch', engineLatency, engineRps));
    console.log(row('API', apiLatency, apiRps));
    console.log(
      `p50 overhead ${(percentile(apiLatency, 50) - percentile(engineLatency, 50)).toFixed(2)} ms; throughput ratio ${(apiRps / engineRps).toFixed(2)}x`,
    );
  } finally {
    api?.kill('SIGTERM');
    await db.query(`drop table if exists ${table}`).catch(() => undefined);
    await db.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
