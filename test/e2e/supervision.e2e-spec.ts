import type { Client } from 'pg';
import { apiGet, database, eventually, stackService, uniqueTable } from './support/stack';

/** kill -9 of a pipeline process: the runner restarts it and changes made meanwhile arrive. */
describe('supervised processes', () => {
  let db: Client;
  let table: string;

  beforeAll(async () => {
    db = await database();
    table = uniqueTable('supervision');
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (0, 'before')`);
    await eventually(
      () => apiGet(`/v1/tables/${table}/documents/0`),
      (r) => r.status === 200,
      { what: 'table synced before the kills', timeoutMs: 90_000 },
    );
  });

  afterAll(async () => {
    await db.end();
  });

  for (const [service, id] of [
    ['indexer', 1],
    ['kafka-connect', 2],
  ] as const) {
    it(`restarts ${service} after kill -9 and loses no change`, async () => {
      const before = stackService(service);
      expect(before.pid).toBeGreaterThan(0);
      process.kill(before.pid as number, 'SIGKILL');
      await db.query(`insert into ${table} values ($1, $2)`, [id, `while ${service} was down`]);
      await eventually(
        () => Promise.resolve(stackService(service)),
        (s) => s.restarts === before.restarts + 1 && s.state === 'running' && s.pid !== before.pid,
        { what: `${service} restarted by the supervisor`, timeoutMs: 120_000 },
      );
      const arrived = await eventually(
        () => apiGet<{ source: { label: string } }>(`/v1/tables/${table}/documents/${id}`),
        (r) => r.status === 200,
        { what: `change made while ${service} was down`, timeoutMs: 120_000 },
      );
      expect(arrived.body.source.label).toBe(`while ${service} was down`);
    });
  }
});
