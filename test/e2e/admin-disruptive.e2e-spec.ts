import type { Client } from 'pg';
import { admin, connectorName, holdPart, releasePart } from './support/admin';
import { apiGet, database, eventually, stackService, uniqueTable } from './support/stack';

interface HealEvent {
  at: string;
  task: number | null;
  kind: string;
  attempt: number;
  message: string;
}

interface Pipeline {
  status: string;
  reasons: string[];
  slot: { lagBytes: number | null; active: boolean } | null;
  tables: {
    table: string;
    kafkaLag: number | null;
    rows: number | null;
    documents: number | null;
  }[];
}

/** Makes sure a part runs again whatever happened in the test. */
async function ensureRunning(part: string): Promise<void> {
  if (stackService(part)?.state === 'held') await releasePart(part);
}

/**
 * Tests that take parts of the stack away (./searchsync stop <part>); each puts them back in a
 * finally block, so the stack is healthy afterwards even when an assertion fails.
 */
describe('connector admin: disruptions', () => {
  let db: Client | null = null;
  const name = connectorName();

  afterAll(async () => {
    await ensureRunning('postgres');
    await ensureRunning('indexer');
    await admin('POST', `/v1/connectors/${name}/resume`).catch(() => undefined);
    await db?.end().catch(() => undefined);
  });

  it('heals the connector after PostgreSQL went away under it, and shows the events', async () => {
    const table = uniqueTable('healer');
    db = await database();
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (1, 'before')`);
    await eventually(
      () => apiGet(`/v1/tables/${table}/documents/1`),
      (r) => r.status === 200,
      {
        what: 'table synced',
        timeoutMs: 90_000,
      },
    );
    await db.end();
    db = null;
    const since = Date.now();
    try {
      await holdPart('postgres');
      const failed = await eventually(
        () => admin<HealEvent[]>('GET', `/v1/connectors/${name}/events`),
        (r) =>
          r.body.some((e) => e.kind === 'failure-detected' && Date.parse(e.at) >= since) &&
          r.body.some((e) => e.kind === 'restart-requested' && Date.parse(e.at) >= since),
        { what: 'healer saw the failure and restarted the task', timeoutMs: 60_000 },
      );
      expect(failed.body.find((e) => e.kind === 'failure-detected')?.message).toBeTruthy();
    } finally {
      await releasePart('postgres');
    }
    const back = Date.now();
    db = await database();
    await db.query(`insert into ${table} values (2, 'after PostgreSQL came back')`);
    const arrived = await eventually(
      () => apiGet<{ source: { label: string } }>(`/v1/tables/${table}/documents/2`),
      (r) => r.status === 200,
      { what: 'change after recovery indexed', timeoutMs: 120_000 },
    );
    expect(arrived.body.source.label).toBe('after PostgreSQL came back');
    console.log(
      `healer: change indexed ${((Date.now() - back) / 1000).toFixed(1)} s after PostgreSQL came back`,
    );

    const connector = await admin<{
      status: { state: string; tasks: { state: string }[] };
      events: HealEvent[];
    }>('GET', `/v1/connectors/${name}`);
    expect(connector.body.status.tasks[0].state).toBe('RUNNING');
    const kinds = connector.body.events.filter((e) => Date.parse(e.at) >= since).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['failure-detected', 'restart-requested']));
    const health = await eventually(
      () => admin<Pipeline>('GET', '/v1/pipeline'),
      (r) => r.body.slot?.active === true,
      { what: 'slot active again', timeoutMs: 60_000 },
    );
    expect(health.body.reasons.join(' ')).not.toMatch(/FAILED/);
  });

  it('reports Kafka lag and slot lag growing while the pipeline is held, shrinking after', async () => {
    db ??= await database();
    const table = uniqueTable('lag');
    const entry = () => admin<Pipeline>('GET', '/v1/pipeline');
    const lagOf = (p: Pipeline) => p.tables.find((t) => t.table === `public.${table}`);
    await db.query(`create table ${table} (id int primary key, payload text)`);
    await db.query(`insert into ${table} values (0, 'seed')`);
    await eventually(
      () => apiGet(`/v1/tables/${table}/documents/0`),
      (r) => r.status === 200,
      {
        what: 'table synced',
        timeoutMs: 90_000,
      },
    );
    try {
      await holdPart('indexer');
      await db.query(
        `insert into ${table} select g, repeat('x', 200) from generate_series(1, 500) g`,
      );
      const lagging = await eventually(entry, (r) => (lagOf(r.body)?.kafkaLag ?? 0) >= 500, {
        what: 'Kafka lag of 500',
        timeoutMs: 60_000,
      });
      expect(lagOf(lagging.body)).toMatchObject({ rows: 501, documents: 1 });

      expect((await admin('POST', `/v1/connectors/${name}/pause`)).status).toBe(200);
      await eventually(
        () => admin<{ status: { state: string } }>('GET', `/v1/connectors/${name}`),
        (r) => r.body.status.state === 'PAUSED',
        { what: 'connector paused', timeoutMs: 30_000 },
      );
      const before = (await entry()).body.slot?.lagBytes ?? 0;
      await db.query(
        `insert into ${table} select g, repeat('y', 200) from generate_series(501, 1000) g`,
      );
      const grown = await eventually(
        entry,
        (r) => (r.body.slot?.lagBytes ?? 0) > before + 100_000,
        {
          what: 'slot lag grew by 100 kB',
          timeoutMs: 30_000,
        },
      );
      expect(grown.body.status).not.toBe('ok');
      expect(grown.body.reasons.join(' ')).toMatch(/PAUSED/);
      const peak = grown.body.slot?.lagBytes ?? 0;
      console.log(
        `lag: Kafka ${lagOf(lagging.body)?.kafkaLag} records, slot ${peak} bytes while held`,
      );

      expect((await admin('POST', `/v1/connectors/${name}/resume`)).status).toBe(200);
      await releasePart('indexer');
      const caughtUp = await eventually(
        entry,
        (r) => {
          const t = lagOf(r.body);
          return (
            t?.kafkaLag === 0 && t.documents === 1001 && (r.body.slot?.lagBytes ?? Infinity) < peak
          );
        },
        { what: 'lag back to zero, slot lag below its peak', timeoutMs: 120_000 },
      );
      expect(lagOf(caughtUp.body)).toMatchObject({ rows: 1001, documents: 1001, kafkaLag: 0 });
    } finally {
      await admin('POST', `/v1/connectors/${name}/resume`);
      await ensureRunning('indexer');
    }
  });
});
