import { Kafka, logLevel } from 'kafkajs';
import type { Client } from 'pg';
import { admin, connectorName, search } from './support/admin';
import { searchUrl } from './support/api-client';
import { apiGet, database, eventually, stackEngine, uniqueTable } from './support/stack';
import { removeTableConfig, writeTableConfig } from './support/table-config';

interface TableInfo {
  table: string;
  documents: number;
  fields: { name: string; type: string }[];
  needsRebuild: string | null;
}

interface SearchBody {
  total: number;
  hits: { id: string; source: Record<string, unknown> }[];
}

interface Progress {
  id: string;
  state: string;
  error: string | null;
}

const kafka = new Kafka({
  clientId: 'e2e-table-config',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});

/** Every change event of a table's topic so far, as parsed JSON values (tombstones left out). */
async function topicValues(topic: string, expected: number): Promise<Record<string, unknown>[]> {
  const consumer = kafka.consumer({ groupId: `e2e-table-config-${Date.now()}` });
  const values: Record<string, unknown>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (message.value) values.push(JSON.parse(message.value.toString()) as never);
        return Promise.resolve();
      },
    });
    await eventually(
      () => Promise.resolve(values.length),
      (n) => n >= expected,
      { what: `${expected} messages read from ${topic}` },
    );
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function tableInfo(table: string): Promise<TableInfo | undefined> {
  const tables = await apiGet<TableInfo[]>('/v1/tables');
  return tables.body.find((t) => t.table === table);
}

async function rawSource(table: string, id: number): Promise<Record<string, unknown>> {
  const doc = (await search('GET', `/searchsync.public.${table}/_doc/${id}`)) as {
    _source?: Record<string, unknown>;
  };
  return doc._source ?? {};
}

async function rebuild(table: string): Promise<Progress> {
  const started = await admin<Progress>('POST', `/v1/tables/${table}/rebuild`);
  expect(started.status).toBe(202);
  return (
    await eventually(
      () => admin<Progress>('GET', `/v1/tables/${table}/rebuild`),
      (r) =>
        r.body.id === started.body.id &&
        (r.body.state === 'completed' || r.body.state === 'failed'),
      { what: `rebuild of ${table}`, timeoutMs: 300_000 },
    )
  ).body;
}

describe('searchsync.yaml: excluded columns never leave PostgreSQL', () => {
  let db: Client;
  const table = uniqueTable('cfg_staff');
  const hash = '$2b$12$e2eSecretHashThatMustNeverBeSearchable';

  beforeAll(async () => {
    db = await database();
    await db.query(
      `create table ${table} (id int primary key, name text, password text, secret text)`,
    );
    writeTableConfig(table, `tables:\n  public.${table}:\n    exclude: [password]\n`);
    // The admin applies the exclusion to the running connector (its reconcile pass).
    const entry = `public\\.${table}\\.password`;
    await eventually(
      () => admin<{ config: Record<string, string> }>('GET', `/v1/connectors/${connectorName()}`),
      (r) => (r.body.config?.['column.exclude.list'] ?? '').split(',').includes(entry),
      { what: `${entry} in the connector's column.exclude.list`, timeoutMs: 120_000 },
    );
    // The task restarts with the new list; rows written now are read with it.
    await eventually(
      () => admin<{ state: string; tasks: { state: string }[] }[]>('GET', '/v1/connectors'),
      (r) =>
        r.body.some(
          (c) =>
            c.state === 'RUNNING' &&
            c.tasks.length > 0 &&
            c.tasks.every((t) => t.state === 'RUNNING'),
        ),
      { what: 'the connector running again', timeoutMs: 120_000 },
    );
    await db.query(
      `insert into ${table} select g, 'staff ' || g, $1, 'secret ' || g from generate_series(1, 20) g`,
      [hash],
    );
    // A Kafka Connect task restart (the exclusion list changed) may take a minute when the old
    // task does not stop gracefully (Debezium then waits for its metrics to be released).
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?size=1`),
      (r) => r.status === 200 && r.body.total === 20,
      { what: '20 rows searchable', timeoutMs: 180_000 },
    );
  }, 420_000);

  afterAll(async () => {
    // The configuration stays with its table: removing it would restart the connector's task
    // (its exclusion list shrinks) under the suites that follow, for nothing.
    await db.end();
  });

  it('keeps the column out of the Kafka topic', async () => {
    const values = await topicValues(`searchsync.public.${table}`, 20);
    for (const value of values) {
      const payload = (value.payload ?? value) as { after?: Record<string, unknown> | null };
      if (payload.after) {
        expect(payload.after).not.toHaveProperty('password');
        expect(payload.after).toHaveProperty('secret');
      }
    }
    expect(JSON.stringify(values)).not.toContain(hash);
  });

  it('keeps it out of the stored documents, search and the field catalogue', async () => {
    expect(await rawSource(table, 7)).toEqual({ id: 7, name: 'staff 7', secret: 'secret 7' });
    const byHash = await apiGet<SearchBody>(
      `/v1/tables/${table}/search?q=${encodeURIComponent('"e2eSecretHashThatMustNeverBeSearchable"')}`,
    );
    expect(byHash.status).toBe(200);
    expect(byHash.body.total).toBe(0);
    const filtered = await apiGet<{ message: string }>(
      `/v1/tables/${table}/search?filter=password:exists:true`,
    );
    expect(filtered.status).toBe(400);
    const info = await tableInfo(table);
    expect(info?.fields.map((f) => f.name).sort()).toEqual(['id', 'name', 'secret']);
    expect(info?.needsRebuild).toBeNull();
    const got = await apiGet<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/3`,
    );
    expect(got.body.source).toEqual({ id: 3, name: 'staff 3', secret: 'secret 3' });
  });

  it('hides a newly excluded column at once, and a rebuild removes it from the documents', async () => {
    writeTableConfig(table, `tables:\n  public.${table}:\n    exclude: [password, secret]\n`);
    const hidden = await eventually(
      () => tableInfo(table),
      (t) => t !== undefined && !t.fields.some((f) => f.name === 'secret'),
      { what: 'secret hidden from the catalogue' },
    );
    expect(hidden?.needsRebuild).toMatch(/rebuild/);
    const served = await apiGet<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/3`,
    );
    expect(served.body.source).toEqual({ id: 3, name: 'staff 3' });
    // Still stored until the rebuild.
    expect(await rawSource(table, 3)).toHaveProperty('secret');

    const finished = await rebuild(table);
    expect(finished).toMatchObject({ state: 'completed', error: null });
    expect(await rawSource(table, 3)).toEqual({ id: 3, name: 'staff 3' });
    await eventually(
      () => tableInfo(table),
      (t) => t?.needsRebuild === null,
      { what: 'the rebuilt table no longer reported as needing a rebuild', timeoutMs: 30_000 },
    );
    const verified = await admin<{ missing: string[]; extra: string[]; mismatched: string[] }>(
      'POST',
      `/v1/tables/${table}/verify`,
    );
    expect(verified.body).toMatchObject({ missing: [], extra: [], mismatched: [] });
  });
});

describe('searchsync.yaml: language analysis', () => {
  let db: Client;
  const table = uniqueTable('cfg_film');

  beforeAll(async () => {
    db = await database();
    await db.query(`create table ${table} (id int primary key, title text, rating text)`);
    await db.query(
      `insert into ${table} values (1, 'Astronaut Dreams', 'PG'), (2, 'The Lost Astronaut', 'R'), (3, 'Ocean Life', 'PG-13')`,
    );
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?size=1`),
      (r) => r.status === 200 && r.body.total === 3,
      { what: '3 rows searchable' },
    );
  });

  afterAll(async () => {
    removeTableConfig(table);
    await db.end();
  });

  it('finds the singular by a plural query once the column has analyzer: english and is rebuilt', async () => {
    // The local Elasticsearch node, built from Maven Central's server jars, has no
    // analysis-common module and so no language analyzers (deploy/local/elasticsearch/README.md).
    const probe = await fetch(`${searchUrl()}/_analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ analyzer: 'english', text: 'astronauts' }),
    });
    if (!probe.ok) {
      expect(stackEngine).toBe('elasticsearch');
      // The rebuild must fail, saying why, and leave the live index as it was — never go live
      // with the column unmapped (unsearchable) as if it had worked.
      writeTableConfig(
        table,
        `tables:\n  ${table}:\n    fields:\n      title: { analyzer: english }\n`,
      );
      await eventually(
        () => tableInfo(table),
        (t) => typeof t?.needsRebuild === 'string',
        { what: 'the table reported as needing a rebuild' },
      );
      const refused = await rebuild(table);
      expect(refused.state).toBe('failed');
      expect(refused.error).toMatch(/refused the mapping of .*title.*english/);
      const still = await apiGet<SearchBody>(`/v1/tables/${table}/search?q=astronaut`);
      expect(still.body.total).toBe(2);
      removeTableConfig(table);
      return;
    }
    const before = await apiGet<SearchBody>(`/v1/tables/${table}/search?q=astronauts`);
    expect(before.body.total).toBe(0);

    writeTableConfig(
      table,
      `tables:\n  ${table}:\n    fields:\n      title: { analyzer: english }\n      rating: { type: keyword }\n`,
    );
    await eventually(
      () => tableInfo(table),
      (t) => typeof t?.needsRebuild === 'string',
      { what: 'the table reported as needing a rebuild' },
    );
    const finished = await rebuild(table);
    expect(finished).toMatchObject({ state: 'completed', error: null });

    const after = await apiGet<SearchBody>(`/v1/tables/${table}/search?q=astronauts`);
    expect(after.body.hits.map((h) => h.id).sort()).toEqual(['1', '2']);
    // The API caches mappings briefly (API_CATALOG_TTL_MS).
    const info = await eventually(
      () => tableInfo(table),
      (t) => t?.needsRebuild === null,
      { what: 'the rebuilt table no longer reported as needing a rebuild', timeoutMs: 30_000 },
    );
    expect(info?.fields.find((f) => f.name === 'rating')?.type).toBe('keyword');
  });
});
