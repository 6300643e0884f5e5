import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { holdPart, releasePart } from './support/admin';
import { searchUrl } from './support/api-client';
import type { Client } from 'pg';
import {
  apiGet,
  database,
  eventually,
  stackRoot,
  stackEngine,
  stackService,
  uniqueTable,
} from './support/stack';

interface DocumentBody {
  id: string;
  source: Record<string, unknown>;
}
interface SearchBody {
  total: number;
  hits: DocumentBody[];
}

const kafka = new Kafka({
  clientId: 'e2e-indexer',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const topicPrefix = process.env.SEARCHSYNC_TOPIC_PREFIX ?? 'searchsync';

const documentOf = (table: string, id: string) =>
  apiGet<DocumentBody>(`/v1/tables/${table}/documents/${encodeURIComponent(id)}`);

async function allDocuments(table: string): Promise<Map<string, Record<string, unknown>>> {
  const result = await apiGet<SearchBody>(`/v1/tables/${table}/search?size=1000`);
  return new Map(result.body.hits.map((hit) => [hit.id, hit.source]));
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

describe('indexer: every change, exact values, replay-safe, never drops', () => {
  let db: Client;

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    await db.end();
  });

  it('round-trips every type of the matrix exactly, with edge values', async () => {
    const table = uniqueTable('types');
    await db.query(
      `do $$ begin create type e2e_mood as enum ('sad', 'ok', 'happy'); exception when duplicate_object then null; end $$`,
    );
    await db.query(
      `do $$ begin create domain e2e_posint as integer check (value > 0); exception when duplicate_object then null; end $$`,
    );
    await db.query(`create table ${table} (
      id bigint primary key, c_smallint smallint, c_integer integer, c_bigint bigint, c_bigint_neg bigint,
      c_numeric numeric, c_numeric_scaled numeric(12,4), c_real real, c_double double precision, c_nan double precision,
      c_bool boolean, c_text text, c_varchar varchar(20), c_char char(5), c_uuid uuid, c_enum e2e_mood, c_domain e2e_posint,
      c_date date, c_ts timestamp, c_tstz timestamptz, c_time time, c_timetz timetz, c_interval interval,
      c_json json, c_jsonb jsonb, c_int_array int[], c_text_array text[], c_bytea bytea, c_null text,
      c_inet inet, c_tsvector tsvector, c_range int4range)`);
    await db.query(`insert into ${table} values (
      1, -32768, 2147483647, 9007199254740993, -9223372036854775808,
      12345678901234567890.123456789012345678, 12345678.1234, 1.5, 3.141592653589793, 'Infinity',
      true, 'hello wörld ✓', 'varchar', 'ab', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'happy', 42,
      '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.654321+05:30', '23:59:59.999999', '03:04:05.123456-08', '1 year 2 mons 3 days 04:05:06.789012',
      '{"a": [1, 2, {"b": null}], "n": 1.5}', '{"nested": {"deep": [true, "x", 9007199254740993]}}', '{1,NULL,3}', '{"a","b c"}', '\\x00ff10', null,
      '10.1.2.3', 'a fat cat', '[1,10)')`);
    const document = await eventually(
      () => documentOf(table, '1'),
      (r) => r.status === 200,
      { what: 'typed row indexed', timeoutMs: 90_000 },
    );
    expect(document.body.source).toEqual({
      id: 1,
      c_smallint: -32768,
      c_integer: 2147483647,
      c_bigint: '9007199254740993',
      c_bigint_neg: '-9223372036854775808',
      c_numeric: '12345678901234567890.123456789012345678',
      c_numeric_scaled: '12345678.1234',
      c_real: 1.5,
      c_double: 3.141592653589793,
      c_nan: 'Infinity',
      c_bool: true,
      c_text: 'hello wörld ✓',
      c_varchar: 'varchar',
      c_char: 'ab   ',
      c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c_enum: 'happy',
      c_domain: 42,
      c_date: '2024-02-29',
      c_ts: '2024-01-02T03:04:05.123456',
      c_tstz: '2024-01-01T21:34:05.654321Z',
      c_time: '23:59:59.999999',
      c_timetz: '11:04:05.123456Z',
      c_interval: 'P1Y2M3DT4H5M6.789012S',
      c_json: { a: [1, 2, { b: null }], n: 1.5 },
      c_jsonb: { nested: { deep: [true, 'x', '9007199254740993'] } },
      c_int_array: [1, null, 3],
      c_text_array: ['a', 'b c'],
      c_bytea: 'AP8Q',
      c_null: null,
      c_inet: '10.1.2.3',
      c_tsvector: "'a' 'cat' 'fat'",
      c_range: '[1,10)',
    });
    // The mapping follows the types: dates as dates, numerics range-filterable, text searchable.
    const tables =
      await apiGet<{ table: string; fields: { name: string; type: string }[] }[]>('/v1/tables');
    const fields = Object.fromEntries(
      (tables.body.find((t) => t.table === table)?.fields ?? []).map((f) => [f.name, f.type]),
    );
    expect(fields).toMatchObject({
      c_date: 'date',
      c_tstz: 'date',
      c_numeric: 'double',
      c_bigint: 'long',
      c_text: 'text',
      c_uuid: 'keyword',
      c_bytea: 'binary',
      c_jsonb: 'object',
    });
    // What the field catalogue reads from the engine (docs/values.md): timestamps with their
    // exact string, uuid case-insensitive, json/jsonb stored whole and not indexed.
    const alias = `${process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync'}.public.${table}`;
    const mapping = (await (await fetch(`${searchUrl()}/${alias}/_mapping`)).json()) as Record<
      string,
      { mappings: { properties: Record<string, Record<string, unknown>> } }
    >;
    const properties = Object.values(mapping)[0]?.mappings.properties ?? {};
    for (const column of ['c_ts', 'c_tstz'])
      expect({ column, mapping: properties[column] }).toMatchObject({
        column,
        mapping: { type: 'date', fields: { exact: { type: 'keyword' } } },
      });
    expect(properties.c_uuid).toMatchObject({
      type: 'keyword',
      normalizer: 'searchsync_lowercase',
    });
    for (const column of ['c_json', 'c_jsonb'])
      expect({ column, mapping: properties[column] }).toEqual({
        column,
        mapping: { type: 'object', enabled: false },
      });
  });

  it('picks up a new column without a restart and extends the mapping', async () => {
    const table = uniqueTable('newcol');
    await db.query(`create table ${table} (id int primary key, name text)`);
    await db.query(`insert into ${table} values (1, 'before')`);
    await eventually(
      () => documentOf(table, '1'),
      (r) => r.status === 200,
      { what: 'row indexed', timeoutMs: 90_000 },
    );
    await db.query(`alter table ${table} add column released date`);
    await db.query(`update ${table} set released = '2025-12-24', name = 'after' where id = 1`);
    const updated = await eventually(
      () => documentOf(table, '1'),
      (r) => r.body.source?.name === 'after',
      { what: 'row with the new column' },
    );
    expect(updated.body.source).toEqual({ id: 1, name: 'after', released: '2025-12-24' });
    const tables =
      await apiGet<{ table: string; fields: { name: string; type: string }[] }[]>('/v1/tables');
    expect(tables.body.find((t) => t.table === table)?.fields).toContainEqual({
      name: 'released',
      type: 'date',
    });
  });

  it('keeps an unchanged 15 kB TOASTed value when another column is updated', async () => {
    const table = uniqueTable('toast');
    await db.query(`create table ${table} (id int primary key, counter int, payload text)`);
    // Random printable characters: PostgreSQL cannot compress them, so they are stored out of line.
    await db.query(
      `insert into ${table} select 1, 0, string_agg(chr(33 + (random() * 90)::int), '') from generate_series(1, 15000)`,
    );
    const { rows } = await db.query<{ payload: string }>(
      `select payload from ${table} where id = 1`,
    );
    expect(rows[0].payload).toHaveLength(15000);
    await eventually(
      () => documentOf(table, '1'),
      (r) => r.status === 200,
      { what: 'row indexed', timeoutMs: 90_000 },
    );
    await db.query(`update ${table} set counter = 1 where id = 1`);
    await db.query(`update ${table} set counter = 2 where id = 1`);
    const document = await eventually(
      () => documentOf(table, '1'),
      (r) => r.body.source?.counter === 2,
      { what: 'updates applied' },
    );
    const payload = document.body.source.payload as string;
    // Compared as a whole without printing 15 kB on failure.
    expect({ length: payload.length, identical: payload === rows[0].payload }).toEqual({
      length: 15000,
      identical: true,
    });
  });

  it('handles composite keys and update-then-delete in one transaction', async () => {
    const table = uniqueTable('composite');
    await db.query(
      `create table ${table} (tenant int, region text, qty int, primary key (tenant, region))`,
    );
    await db.query(`insert into ${table} values (7, 'eu', 1), (7, 'us', 2), (8, 'eu', 3)`);
    const composite = await eventually(
      () => documentOf(table, '[7,"eu"]'),
      (r) => r.status === 200,
      { what: 'composite key indexed', timeoutMs: 90_000 },
    );
    expect(composite.body).toMatchObject({
      id: '[7,"eu"]',
      source: { tenant: 7, region: 'eu', qty: 1 },
    });
    await db.query('begin');
    await db.query(`update ${table} set qty = 99 where tenant = 7 and region = 'us'`);
    await db.query(`delete from ${table} where tenant = 7 and region = 'us'`);
    await db.query(`update ${table} set qty = 4 where tenant = 8`);
    await db.query('commit');
    await eventually(
      async () => [await documentOf(table, '[7,"us"]'), await documentOf(table, '[8,"eu"]')],
      ([gone, updated]) => gone.status === 404 && updated.body.source?.qty === 4,
      { what: 'transaction applied in order' },
    );
  });

  it('dead-letters a poison message with its reason and goes on with the next change', async () => {
    const table = uniqueTable('poison');
    const topic = `${topicPrefix}.public.${table}`;
    await db.query(`create table ${table} (id int primary key, name text)`);
    await db.query(`insert into ${table} values (1, 'first')`);
    await eventually(
      () => documentOf(table, '1'),
      (r) => r.status === 200,
      { what: 'row indexed', timeoutMs: 90_000 },
    );

    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({
      topic,
      messages: [{ key: '{"id":', value: 'this is not a change event' }],
    });
    await producer.disconnect();
    await db.query(`insert into ${table} values (2, 'after the poison')`);
    await eventually(
      () => documentOf(table, '2'),
      (r) => r.status === 200,
      { what: 'next change applied' },
    );

    const consumer = kafka.consumer({ groupId: `e2e-dead-letter-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: 'searchsync.dead-letter', fromBeginning: true });
    const found = new Promise<Record<string, string>>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([key, value]) => [key, String(value)]),
          );
          if (headers['searchsync.source.topic'] === topic)
            resolve({ ...headers, value: String(message.value) });
          return Promise.resolve();
        },
      });
    });
    const letter = await Promise.race([
      found,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no dead letter within 60 s')), 60_000),
      ),
    ]);
    await consumer.disconnect();
    expect(letter).toMatchObject({
      'searchsync.source.topic': topic,
      'searchsync.source.partition': String(sent.partition),
      'searchsync.source.offset': sent.baseOffset,
      value: 'this is not a change event',
    });
    expect(letter['searchsync.reason']).toMatch(/not JSON/);
  });

  it('leaves every document identical and every deleted row absent when the whole history is replayed', async () => {
    const table = uniqueTable('replay');
    await db.query(`create table ${table} (id int primary key, name text, version int)`);
    await db.query(`insert into ${table} select g, 'row ' || g, 1 from generate_series(1, 60) g`);
    await db.query(`update ${table} set name = name || ' updated', version = 2 where id % 3 = 0`);
    await db.query(`delete from ${table} where id % 5 = 0`);
    await db.query(`update ${table} set id = id + 1000 where id = 1`);
    const expected = new Map(
      (
        await db.query<{ id: number; name: string; version: number }>(`select * from ${table}`)
      ).rows.map((row) => [String(row.id), { ...row }]),
    );
    const before = await eventually(
      () => allDocuments(table),
      (docs) => docs.size === expected.size && docs.get('1001')?.name === 'row 1',
      { what: 'table synced', timeoutMs: 90_000 },
    );
    expect(Object.fromEntries(before)).toEqual(Object.fromEntries(expected));

    // A second indexer in a new consumer group replays every table topic from the beginning
    // over the same indices, while the stack keeps running.
    const metricsPort = 3900 + Math.floor(Math.random() * 90);
    const replayLog = openSync(join(stackRoot, '.stack', 'logs', 'e2e-replay-indexer.log'), 'w');
    const replay: ChildProcess = spawn(
      process.execPath,
      [join(stackRoot, 'dist', 'apps', 'indexer', 'src', 'main.js')],
      {
        env: {
          ...process.env,
          INDEXER_GROUP_ID: `e2e-replay-${Date.now()}`,
          INDEXER_METRICS_PORT: String(metricsPort),
          INDEXER_TOPIC_REFRESH_MS: '1000',
        },
        stdio: ['ignore', replayLog, replayLog],
      },
    );
    try {
      await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
          const text = await response.text();
          const lags = [
            ...text.matchAll(/^searchsync_indexer_consumer_lag\{topic="([^"]+)"\} (\d+)/gm),
          ];
          const ours = lags.find((m) => m[1].endsWith(`.${table}`));
          // Only this table's documents are compared: other topics (a developer's benchmark
          // tables of millions of rows) may still be replaying.
          return { tables: lags.length, ours: ours !== undefined, behind: ours?.[2] };
        },
        (m) => m.ours && m.behind === '0',
        { what: 'replay caught up', timeoutMs: 120_000 },
      );
    } finally {
      replay.kill('SIGTERM');
    }
    const after = await allDocuments(table);
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(expected));
    for (const deleted of ['5', '10', '60', '1'])
      expect((await documentOf(table, deleted)).status).toBe(404);
  });

  it("leaves every document identical after the indexer's own consumer group is reset to the earliest offsets", async () => {
    const table = uniqueTable('reset');
    await db.query(`create table ${table} (id int primary key, name text)`);
    await db.query(`insert into ${table} select g, 'row ' || g from generate_series(1, 40) g`);
    await db.query(`update ${table} set name = 'changed' where id <= 10`);
    await db.query(`delete from ${table} where id > 30`);
    const expected = new Map(
      (await db.query<{ id: number; name: string }>(`select * from ${table}`)).rows.map((row) => [
        String(row.id),
        row,
      ]),
    );
    await eventually(
      () => allDocuments(table),
      (docs) => docs.size === 30 && docs.get('1')?.name === 'changed',
      { what: 'table synced', timeoutMs: 90_000 },
    );
    const groupId = process.env.INDEXER_GROUP_ID ?? 'searchsync-indexer';
    await holdPart('indexer');
    try {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // The table's own topic: resetting every topic of a long-lived stack replays them all.
        await admin.resetOffsets({
          groupId,
          topic: `${topicPrefix}.public.${table}`,
          earliest: true,
        });
      } finally {
        await admin.disconnect();
      }
    } finally {
      await releasePart('indexer');
    }
    const metricsPort = process.env.INDEXER_METRICS_PORT ?? '3002';
    await eventually(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const lag = new RegExp(
          `^searchsync_indexer_consumer_lag\\{topic="[^"]*${table}"\\} (\\d+)`,
          'm',
        );
        // Replayed inserts of rows changed later are refused as stale: proof the replay ran.
        const conflicts = new RegExp(
          `^searchsync_indexer_version_conflicts_total\\{table="public\\.${table}"\\} (\\d+)`,
          'm',
        );
        return { lag: lag.exec(text)?.[1], conflicts: Number(conflicts.exec(text)?.[1] ?? 0) };
      },
      (m) => m.lag === '0' && m.conflicts >= 10,
      { what: 'the reset group caught up again', timeoutMs: 120_000 },
    );
    const after = await allDocuments(table);
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(expected));
    for (const deleted of ['31', '40']) expect((await documentOf(table, deleted)).status).toBe(404);
  });

  it('pauses while the search engine is unreachable for 30 s and loses nothing, with bounded memory', async () => {
    const table = uniqueTable('outage');
    await db.query(`create table ${table} (id int primary key, name text)`);
    await db.query(`insert into ${table} values (0, 'before the outage')`);
    await eventually(
      () => documentOf(table, '0'),
      (r) => r.status === 200,
      { what: 'row indexed', timeoutMs: 90_000 },
    );
    const search = stackService(stackEngine);
    const indexer = stackService('indexer');
    const rssBefore = rssBytes(indexer.pid as number);
    // SIGSTOP freezes the node: connections hang and time out, as with a network partition.
    process.kill(search.pid as number, 'SIGSTOP');
    try {
      const deadline = Date.now() + 30_000;
      for (let i = 1; Date.now() < deadline; i++) {
        await db.query(
          `insert into ${table} values ($1, $2) on conflict (id) do update set name = excluded.name`,
          [i % 200, `write ${i}`],
        );
        await db.query(`update ${table} set name = 'outage ' || $1 where id = 0`, [i]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      process.kill(search.pid as number, 'SIGCONT');
    }
    const expected = new Map(
      (await db.query<{ id: number; name: string }>(`select * from ${table}`)).rows.map((row) => [
        String(row.id),
        row,
      ]),
    );
    const documents = await eventually(
      () => allDocuments(table),
      (docs) => docs.size === expected.size && docs.get('0')?.name === expected.get('0')?.name,
      { what: 'every row present and current after the outage', timeoutMs: 120_000 },
    );
    expect(Object.fromEntries(documents)).toEqual(Object.fromEntries(expected));
    const growth = rssBytes(indexer.pid as number) - rssBefore;
    expect(growth).toBeLessThan(150 * 1024 * 1024);
  }, 240_000);
});
