import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@searchsync/retry';
import type { Client } from 'pg';
import { admin, holdPart, releasePart } from './support/admin';
import { waitForDocuments } from './support/api-client';
import { database, eventually, stackRoot, stackService, uniqueTable } from './support/stack';

interface PipelineBody {
  indexer: {
    group: string;
    replicas: { clientId: string; host: string }[] | null;
    consuming: boolean | null;
  };
  tables: { table: string; kafkaLag: number | null; freshnessSeconds: number | null }[];
}

const pipeline = () => admin<PipelineBody>('GET', '/v1/pipeline');
const firstMetrics = `http://127.0.0.1:${process.env.INDEXER_METRICS_PORT ?? 3002}/metrics`;

/** The tables an indexer's own metrics say it applied changes of (its per-table gauge). */
async function appliedTables(metricsUrl: string): Promise<Set<string>> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
  const pattern = /^searchsync_indexer_last_applied_source_timestamp_seconds\{table="([^"]+)"\}/gm;
  return new Set([...text.matchAll(pattern)].map((m) => m[1]));
}

const freshnessOf = async (table: string) =>
  (await pipeline()).body.tables.find((t) => t.table === `public.${table}`);

/**
 * Two indexer replicas in one consumer group split the table topics between them. Freshness in
 * /v1/pipeline must cover the tables the second replica applies — which no scrape of the first
 * replica's metrics can see — because it comes from the progress each replica commits to Kafka.
 */
describe('two indexer replicas', () => {
  let db: Client;
  let second: ChildProcess | null = null;
  const secondPort = 3950 + Math.floor(Math.random() * 40);
  const secondMetrics = `http://127.0.0.1:${secondPort}/metrics`;
  const tables: string[] = [];

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    second?.kill('SIGTERM');
    if (stackService('indexer')?.state === 'held') await releasePart('indexer');
    for (const table of tables) await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  it('reports freshness of the tables the second replica applies, and both replicas', async () => {
    const log = openSync(join(stackRoot, '.stack', 'logs', 'e2e-second-indexer.log'), 'w');
    second = spawn(
      process.execPath,
      [join(stackRoot, 'dist', 'apps', 'indexer', 'src', 'main.js')],
      {
        // The same consumer group as the stack's indexer: a second replica of it.
        env: {
          ...process.env,
          INDEXER_METRICS_PORT: String(secondPort),
          INDEXER_TOPIC_REFRESH_MS: '1000',
          INDEXER_FAULT_INJECTION: 'false',
        },
        stdio: ['ignore', log, log],
      },
    );
    const both = await eventually(pipeline, (r) => r.body.indexer.replicas?.length === 2, {
      what: 'two members in the indexer consumer group',
      timeoutMs: 90_000,
    });
    expect(both.body.indexer.consuming).toBe(true);

    // The stack's indexer is held down: a table created now is applied by the second replica
    // alone (which replica a topic goes to is the assignor's choice, not something to rely on).
    await holdPart('indexer');
    const ours = uniqueTable('replica');
    tables.push(ours);
    await eventually(pipeline, (r) => r.body.indexer.replicas?.length === 1, {
      what: 'the stack indexer out of the group',
      timeoutMs: 60_000,
    });
    await db.query(`create table ${ours} (id int primary key, note text)`);
    await db.query(`insert into ${ours} select g, 'row ' || g from generate_series(1, 20) g`);
    await waitForDocuments(ours, 20);
    expect((await appliedTables(secondMetrics)).has(`public.${ours}`)).toBe(true);

    const applied = await eventually(
      () => freshnessOf(ours),
      (t) => t?.freshnessSeconds !== null && t?.freshnessSeconds !== undefined,
      { what: `freshness of ${ours} (applied by the second replica)`, timeoutMs: 30_000 },
    );
    expect(applied?.kafkaLag).toBe(0);
    expect(applied?.freshnessSeconds).toBeLessThan(60);

    // Freshness ages while the table is idle, and drops again once a new change is applied.
    await sleep(4_000);
    const idle = (await freshnessOf(ours))?.freshnessSeconds ?? 0;
    expect(idle).toBeGreaterThanOrEqual(3);
    await db.query(`update ${ours} set note = 'changed' where id = 1`);
    const fresh = await eventually(
      () => freshnessOf(ours),
      (t) => t !== undefined && t.freshnessSeconds !== null && t.freshnessSeconds < idle - 2,
      { what: `freshness of ${ours} after a new change`, timeoutMs: 30_000 },
    );
    expect(fresh?.kafkaLag).toBe(0);

    // The stack's indexer is back: two members again, then the second replica leaves and the
    // first takes its table over.
    await releasePart('indexer');
    await eventually(pipeline, (r) => r.body.indexer.replicas?.length === 2, {
      what: 'both replicas in the group again',
      timeoutMs: 90_000,
    });
    second.kill('SIGTERM');
    second = null;
    await eventually(pipeline, (r) => r.body.indexer.replicas?.length === 1, {
      what: 'one member left in the indexer consumer group',
      timeoutMs: 60_000,
    });
    await db.query(`insert into ${ours} values (21, 'after the second replica left')`);
    await waitForDocuments(ours, 21);
    const taken = await eventually(
      () => appliedTables(firstMetrics),
      (set) => set.has(`public.${ours}`),
      { what: `the first replica applying ${ours}`, timeoutMs: 30_000 },
    );
    expect(taken.has(`public.${ours}`)).toBe(true);
  });
});
