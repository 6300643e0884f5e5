import type { Client } from 'pg';
import { holdPart, releasePart } from './support/admin';
import { stackApi } from './support/api-client';
import { database, eventually, uniqueTable } from './support/stack';

/**
 * `consistentWith=<LSN>`: a read that names the writer's `pg_current_wal_lsn()` sees its write,
 * every time, whatever the indexer and the refresh interval are doing at that moment.
 */

interface Consistency {
  lsn: string;
  waitedMs: number;
  stages: { source: number; indexer: number; refresh: number };
}
interface SearchBody {
  total: number;
  hits: { id: string; source: Record<string, unknown> }[];
  consistency?: Consistency;
}
interface DocumentBody {
  source: Record<string, unknown>;
  consistency?: Consistency;
}
interface TimeoutBody {
  statusCode: number;
  message: string;
  lag: { stage: string; pendingEvents?: number; bytesBehind?: number; sourceLsn?: string | null };
}

const TRIALS = Number(process.env.E2E_RYW_TRIALS ?? 200);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe('read-your-writes (consistentWith)', () => {
  let db: Client;
  const table = uniqueTable('ryw');
  const busy = uniqueTable('ryw_busy');

  const lsnNow = async () =>
    (await db.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn;

  beforeAll(async () => {
    db = await database();
    await db.query(`create table ${table} (id int primary key, label text not null, n int)`);
    await db.query(`create table ${busy} (id serial primary key, payload text)`);
    await db.query(`insert into ${table} values (0, 'seed', 0)`);
    await db.query(`insert into ${busy} (payload) values ('seed')`);
    for (const name of [table, busy]) {
      await eventually(
        () => stackApi<SearchBody>(`/v1/tables/${name}/search?size=1`),
        (r) => r.status === 200 && r.body.total === 1,
        { what: `${name} synced`, timeoutMs: 120_000 },
      );
    }
  });

  afterAll(async () => {
    await releasePart('indexer').catch(() => undefined);
    await db?.end();
  });

  it(
    `sees the write committed just before, ${TRIALS} times out of ${TRIALS}, while another table is busy`,
    async () => {
      // Another table keeps the indexer and Debezium busy meanwhile (~50 small transactions/s).
      let writing = true;
      const writer = (async () => {
        const other = await database();
        try {
          while (writing) {
            await other.query(`insert into ${busy} (payload) values (repeat('x', 200))`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        } finally {
          await other.end();
        }
      })();
      const waits: number[] = [];
      const misses: string[] = [];
      try {
        for (let i = 1; i <= TRIALS; i++) {
          const label = `trial-${i}-${Math.random().toString(36).slice(2, 8)}`;
          // Inserts, then updates of rows written earlier: a stale read would show the old label.
          const id = i % 3 === 0 ? i - 1 : i;
          await db.query(
            `insert into ${table} values ($1, $2, $3) on conflict (id) do update set label = excluded.label, n = excluded.n`,
            [id, label, i],
          );
          const lsn = await lsnNow();
          let found: unknown;
          let consistency: Consistency | undefined;
          switch (i % 3) {
            case 0: {
              const r = await stackApi<DocumentBody>(
                `/v1/tables/${table}/documents/${id}?consistentWith=${lsn}`,
              );
              found =
                r.status === 200
                  ? r.body.source.label
                  : `HTTP ${r.status} ${JSON.stringify(r.body)}`;
              consistency = r.body.consistency;
              break;
            }
            case 1: {
              const r = await stackApi<SearchBody>(
                `/v1/tables/${table}/search?filter=id:eq:${id}&consistentWith=${lsn}`,
              );
              found =
                r.status === 200
                  ? r.body.hits[0]?.source.label
                  : `HTTP ${r.status} ${JSON.stringify(r.body)}`;
              consistency = r.body.consistency;
              break;
            }
            default: {
              const r = await stackApi<SearchBody>(
                `/v1/tables/${table}/search?consistentWith=${lsn}`,
                { body: { filters: [{ field: 'label', op: 'eq', value: label }] } },
              );
              found =
                r.status === 200
                  ? r.body.hits[0]?.source.label
                  : `HTTP ${r.status} ${JSON.stringify(r.body)}`;
              consistency = r.body.consistency;
            }
          }
          if (found !== label)
            misses.push(
              `trial ${i} (id ${id}, LSN ${lsn}, case ${i % 3}): got ${String(found)}; consistency ${JSON.stringify(consistency)}`,
            );
          if (consistency) waits.push(consistency.waitedMs);
          else misses.push(`trial ${i}: no consistency report`);
        }
      } finally {
        writing = false;
        await writer;
      }
      console.log(
        `read-your-writes: ${TRIALS - misses.length}/${TRIALS} found; waited p50 ${percentile(waits, 50)} ms, p95 ${percentile(waits, 95)} ms, max ${Math.max(...waits)} ms`,
      );
      expect(misses).toEqual([]);
      expect(waits).toHaveLength(TRIALS);
    },
    300_000 + TRIALS * 2_000,
  );

  it('answers 504 with the lag when Debezium cannot reach the LSN in time', async () => {
    const far = `${(parseInt((await lsnNow()).split('/')[0], 16) + 16).toString(16).toUpperCase()}/0`;
    const r = await stackApi<TimeoutBody>(
      `/v1/tables/${table}/search?consistentWith=${far}&consistencyTimeoutMs=1000`,
    );
    expect(r.status).toBe(504);
    expect(r.body.lag.stage).toBe('source');
    expect(r.body.lag.bytesBehind).toBeGreaterThan(16 * 2 ** 32 - 2 ** 32);
    expect(r.body.message).toMatch(/not searchable within \d+ ms: Debezium has streamed up to/);
  });

  it('answers 504 naming the events the indexer still has to apply, and the write once it has', async () => {
    await holdPart('indexer');
    try {
      await db.query(`insert into ${table} values (100000, 'while held', 1)`);
      const lsn = await lsnNow();
      const held = await stackApi<TimeoutBody>(
        `/v1/tables/${table}/documents/100000?consistentWith=${lsn}&consistencyTimeoutMs=3000`,
      );
      expect(held.status).toBe(504);
      expect(held.body.lag.stage).toBe('indexer');
      expect(held.body.lag.pendingEvents).toBeGreaterThanOrEqual(1);
      expect(held.body.message).toMatch(/the indexer has \d+ change events left to apply/);
      await releasePart('indexer');
      const after = await eventually(
        () => stackApi<DocumentBody>(`/v1/tables/${table}/documents/100000?consistentWith=${lsn}`),
        (r) => r.status === 200,
        { what: 'the held write once the indexer is back', timeoutMs: 120_000 },
      );
      expect(after.body.source.label).toBe('while held');
    } finally {
      await releasePart('indexer');
    }
  }, 300_000);

  it('refuses what is not an LSN with a 400 that says what to send', async () => {
    const r = await stackApi<{ message: string }>(`/v1/tables/${table}/search?consistentWith=now`);
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/pg_current_wal_lsn\(\)/);
    const timeout = await stackApi<{ message: string }>(
      `/v1/tables/${table}/documents/0?consistencyTimeoutMs=5`,
    );
    expect(timeout.status).toBe(400);
    expect(timeout.body.message).toMatch(/needs consistentWith/);
  });
});
