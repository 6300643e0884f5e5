/**
 * Indexer drain rate on a pre-filled topic, against a baseline measured in the same run: the
 * same documents bulk-written straight to OpenSearch by a minimal loop (no Kafka, no decoding).
 *
 *   ./searchsync up --detach && node dist/bench/indexer-drain.js [rows]
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client as PgClient } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '@searchsync/retry';

const rows = Number(process.argv[2] ?? 20000);
const root = resolve(__dirname, '..', '..');
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/app';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const searchUrl = process.env.SEARCH_URL ?? 'http://127.0.0.1:9200';

async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function countDocs(index: string): Promise<number> {
  await fetch(`${searchUrl}/${index}/_refresh`, { method: 'POST' });
  const response = await fetch(`${searchUrl}/${index}/_count`);
  if (!response.ok) return 0;
  return ((await response.json()) as { count: number }).count;
}

async function baselineBulk(table: string, db: PgClient): Promise<number> {
  const index = `bench-baseline-${table}`;
  await fetch(`${searchUrl}/${index}`, { method: 'DELETE' });
  await fetch(`${searchUrl}/${index}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ settings: { number_of_shards: 1, number_of_replicas: 0 } }),
  });
  const { rows: data } = await db.query(`select * from ${table} order by id`);
  const began = process.hrtime.bigint();
  for (let i = 0; i < data.length; i += 2000) {
    const body = data
      .slice(i, i + 2000)
      .map(
        (row: { id: number }) =>
          `{"index":{"_index":"${index}","_id":"${row.id}"}}\n${JSON.stringify(row)}\n`,
      )
      .join('');
    const response = await fetch(`${searchUrl}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    if (!response.ok) throw new Error(`baseline bulk failed: ${response.status}`);
  }
  await fetch(`${searchUrl}/${index}/_refresh`, { method: 'POST' });
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  await fetch(`${searchUrl}/${index}`, { method: 'DELETE' });
  return data.length / seconds;
}

async function main(): Promise<void> {
  const db = new PgClient({ connectionString: databaseUrl });
  await db.connect();
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const table = `bench_drain_${Date.now().toString(36)}`;
  const topic = `searchsync.public.${table}`;
  await db.query(
    `create table ${table} (id int primary key, name text, price numeric(10,2), created_at timestamptz, tags text[])`,
  );
  await db.query(
    `insert into ${table} select g, 'product ' || g || ' ' || md5(g::text), (g % 1000) / 10.0, now(), array['a','b'] from generate_series(1, $1) g`,
    [rows],
  );
  process.stdout.write(`filling ${topic} with ${rows} change events… `);
  while ((await topicSize(kafka, topic)) < rows) await sleep(500);
  console.log('done');

  const baseline = await baselineBulk(table, db);

  const prefix = `benchdrain${Date.now().toString(36)}`;
  const index = `${prefix}.public.${table}`;
  const indexer = spawn(process.execPath, [resolve(root, 'dist/apps/indexer/src/main.js')], {
    env: {
      ...process.env,
      INDEXER_GROUP_ID: `bench-${prefix}`,
      SEARCHSYNC_INDEX_PREFIX: prefix,
      // This table only: earlier runs' and tests' topics would otherwise be drained too.
      INDEXER_INCLUDE_TABLES: `public.${table}`,
      INDEXER_METRICS_PORT: '3990',
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  const began = Date.now();
  let firstAt = 0;
  let firstCount = 0;
  try {
    for (let count = 0; count < rows; count = await countDocs(index)) {
      if (count > 0 && firstAt === 0) {
        firstAt = Date.now();
        firstCount = count;
      }
      if (Date.now() - began > 600_000) throw new Error('indexer did not drain within 10 minutes');
      await sleep(100);
    }
  } finally {
    indexer.kill('SIGTERM');
  }
  const finishedAt = Date.now();
  const withStartup = rows / ((finishedAt - began) / 1000);
  // Steady state: from the first documents seen to the last (process start and group join excluded).
  const drain = (rows - firstCount) / ((finishedAt - firstAt) / 1000);
  console.log(
    `indexer drain rate:  ${drain.toFixed(0)} docs/s steady, ${withStartup.toFixed(0)} docs/s with process start-up (${rows} rows)`,
  );
  console.log(
    `baseline bulk rate:  ${baseline.toFixed(0)} docs/s (same rows, straight to OpenSearch)`,
  );
  console.log(`ratio indexer/baseline: ${(drain / baseline).toFixed(2)}`);
  await fetch(`${searchUrl}/${prefix}.*`, { method: 'DELETE' });
  await db.query(`drop table ${table}`);
  await db.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
