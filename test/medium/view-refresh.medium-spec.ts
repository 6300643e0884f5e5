import { randomBytes } from 'node:crypto';
import {
  documentId,
  quoteIdent,
  type ChangeEvent,
  type DocumentValue,
} from '@searchsync/change-events';
import { loadConfig, sharedEnvSchema, type ViewConfig } from '@searchsync/config';
import {
  MemoryViewIndex,
  VIEW_READ_BATCH,
  VIEW_REFS_FIELD,
  ViewRefresher,
  buildView,
  planView,
  readViewCatalog,
  readViewDocuments,
  viewBulkActions,
  viewChanges,
  viewFailures,
  viewTables,
  viewTablesOf,
  type RowKey,
  type ViewBuildProgress,
  type ViewPlan,
  type ViewRefreshResult,
} from '@searchsync/document-views';
import type { JsonObject } from '@searchsync/search-engine';
import { Client, Pool } from 'pg';
import {
  P1,
  P2,
  P3,
  acceptanceConfig,
  expectedDocuments,
  orderView,
  schemaSql,
} from './views-support/acceptance-schema';

/**
 * The refresh of a view against a real PostgreSQL (DATABASE_URL), into an in-memory view index:
 * after every change of every table of the acceptance schema of issue #11 (insert, update,
 * delete, key change, join row added and removed, truncate), the index must hold exactly the
 * documents a full recomputation gives for every root — the issue's acceptance property without
 * the engine. The change events are what Debezium would send for the statements, taken from
 * triggers (so cascades are in them): an update changing the key is a delete of the old key and
 * a create of the new one; a truncate names each table it truncated.
 */
describe('view refresh (PostgreSQL → view index)', () => {
  const schema = `views_${randomBytes(4).toString('hex')}`;
  const s = quoteIdent(schema);
  const url = loadConfig(sharedEnvSchema).DATABASE_URL;
  const client = new Client({ connectionString: url });
  const pool = new Pool({ connectionString: url, max: 2 });
  const P4 = '00000000-0000-0000-0000-0000000000a4';
  const P5 = '00000000-0000-0000-0000-0000000000a5';
  const index = new MemoryViewIndex('views_order_search');
  const log: [string, ViewRefreshResult][] = [];
  let plan: ViewPlan;
  let refresher: ViewRefresher;
  let keyColumns: Map<string, string[]>;
  let capturedUpTo = 0;

  /** Row triggers and truncate triggers on every table, recording what Debezium would send. */
  const captureSql = (tables: string[]) => `
    create table ${s}.captured (
      seq bigserial primary key, tbl text not null, op text not null, old_row jsonb, new_row jsonb);
    create function ${s}.capture() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        insert into ${s}.captured (tbl, op) values (tg_table_name, 't');
      else
        insert into ${s}.captured (tbl, op, old_row, new_row) values (
          tg_table_name, lower(left(tg_op, 1)),
          case when tg_op <> 'INSERT' then to_jsonb(old) end,
          case when tg_op <> 'DELETE' then to_jsonb(new) end);
      end if;
      return null;
    end $$;
    ${tables
      .map((t) => {
        const table = `${s}.${quoteIdent(t)}`;
        return `
          create trigger capture_rows after insert or update or delete on ${table}
            for each row execute function ${s}.capture();
          create trigger capture_truncate after truncate on ${table}
            for each statement execute function ${s}.capture();`;
      })
      .join('\n')}`;

  /** The change events of everything done since the last call, in commit order. */
  async function capturedEvents(): Promise<ChangeEvent[]> {
    const { rows } = await client.query<{
      seq: string;
      tbl: string;
      op: string;
      old_row: Record<string, DocumentValue> | null;
      new_row: Record<string, DocumentValue> | null;
    }>(`select * from ${s}.captured where seq > $1 order by seq`, [capturedUpTo]);
    const events: ChangeEvent[] = [];
    for (const row of rows) {
      capturedUpTo = Number(row.seq);
      const position = { table: { schema, table: row.tbl }, version: 0n, sourceTsMs: 0 };
      if (row.op === 't') {
        events.push({ kind: 'truncate', ...position });
        continue;
      }
      const key = keyColumns.get(`${schema}.${row.tbl}`) ?? [];
      const id = (values: Record<string, DocumentValue> | null) =>
        values && documentId(key.map((column) => values[column]));
      const before = id(row.old_row);
      const after = id(row.new_row);
      if (before !== null && before !== after)
        events.push({ kind: 'delete', ...position, id: before });
      if (after !== null) {
        const op = before === null ? 'create' : 'update';
        events.push({ kind: 'upsert', op, ...position, id: after, document: {}, columns: [] });
      }
    }
    return events;
  }

  /** Every root's document as readViewDocuments computes it now, with its refs field. */
  async function recomputed(): Promise<Map<string, JsonObject>> {
    const { rows } = await client.query<{ id: string }>(
      `select id::text from ${s}.orders order by id`,
    );
    const keys: RowKey[] = rows.map((row) => [row.id]);
    const out = new Map<string, JsonObject>();
    for (let at = 0; at < keys.length; at += VIEW_READ_BATCH) {
      const results = await readViewDocuments(client, plan, keys.slice(at, at + VIEW_READ_BATCH));
      expect(viewFailures(results)).toEqual([]);
      for (const action of viewBulkActions(index.alias, results)) {
        if (action.type === 'index') out.set(action.id, action.document);
      }
    }
    return out;
  }

  const sorted = (documents: Map<string, JsonObject>) =>
    [...documents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  /** The acceptance property: the index equals the recomputation, and the hand-made join. */
  async function expectIndexExact(options: { handMade?: boolean } = {}) {
    const expected = await recomputed();
    expect(sorted(index.documents())).toEqual(sorted(expected));
    if (options.handMade === false) return;
    const byHand = await expectedDocuments(client, schema);
    expect(sorted(index.documents())).toEqual(
      sorted(
        new Map(
          [...byHand].map(([id, { document, refs }]) => [
            id,
            { ...document, [VIEW_REFS_FIELD]: refs },
          ]),
        ),
      ),
    );
  }

  async function change(name: string, sql: string): Promise<ViewRefreshResult> {
    await client.query(sql);
    const result = await refresher.refresh(viewChanges(await capturedEvents(), [plan]));
    log.push([name, result]);
    expect(result.failures).toEqual([]);
    return result;
  }

  beforeAll(async () => {
    await client.connect();
    await client.query(schemaSql(schema));
    const view: ViewConfig = orderView(schema);
    const catalog = await readViewCatalog(client, viewTables(view));
    plan = planView(view, catalog, { config: acceptanceConfig(schema) });
    keyColumns = new Map([...viewTablesOf([plan])].map(([name, table]) => [name, table.key]));
    await client.query(captureSql(plan.tables.map((name) => name.slice(schema.length + 1))));
    refresher = new ViewRefresher({ plan, pool, index });
  });

  afterAll(async () => {
    if (log.length > 0) {
      const lines = log.map(
        ([name, r]) =>
          `${name}: roots ${r.roots}, written ${r.written}, deleted ${r.deleted}, batches ${r.batches}, ${r.durationMs} ms`,
      );
      console.log(`view refresh per change:\n${lines.join('\n')}`);
    }
    await client.query(`drop schema if exists ${s} cascade`);
    await client.end();
    await pool.end();
  });

  it('builds the view from every root row, page by page in key order, with progress', async () => {
    await client.query(`analyze ${s}.orders`);
    const progress: ViewBuildProgress[] = [];
    const pages: string[][] = [];
    const built = await buildView(
      plan,
      pool,
      async (results) => {
        pages.push(results.map((r) => r.id));
        expect(viewFailures(results)).toEqual([]);
        await index.write(viewBulkActions(index.alias, results));
      },
      (p) => progress.push(p),
      { batchSize: 3 },
    );
    expect(pages).toEqual([['100', '101', '102'], ['103']]);
    expect(built).toMatchObject({ rows: 4, written: 4, deleted: 0, failed: 0, batches: 2 });
    expect(progress.map((p) => [p.rows, p.estimate])).toEqual([
      [3, 4],
      [4, 4],
    ]);
    await capturedEvents();
    await expectIndexExact();
  });

  it('builds a view on a composite root key, in key order', async () => {
    const customers = planView(
      { ...orderView(schema), root: `${schema}.customers`, embed: [] },
      await readViewCatalog(client, [`${schema}.customers`]),
    );
    const pages: string[][] = [];
    await buildView(
      customers,
      pool,
      (results) => {
        pages.push(results.map((r) => r.id));
        return Promise.resolve();
      },
      undefined,
      { batchSize: 1 },
    );
    expect(pages).toEqual([['[1,10]'], ['[1,11]'], ['[2,10]']]);
  });

  const changes: [string, string][] = [
    [
      'customers: insert (in no order yet)',
      `insert into ${s}.customers values (1, 12, 'Dee', false, '2021-02-03')`,
    ],
    [
      'orders: insert',
      `insert into ${s}.orders values (104, 1, 12, 'new', '2024-07-01 12:00:00+00', 5.00, '{"k": 1}', '{q}', 's')`,
    ],
    ['order_lines: insert', `insert into ${s}.order_lines values (104, 1, '${P3}', 2)`],
    [
      'products: insert (in no order)',
      `insert into ${s}.products values ('${P4}', 'Mug', 7.25, null, '{}', 'w')`,
    ],
    [
      'order_lines: insert of the new product',
      `insert into ${s}.order_lines values (101, 1, '${P4}', 1)`,
    ],
    ['tags: insert (unused)', `insert into ${s}.tags values (4, 'gift')`],
    [
      'product_tags: join rows added',
      `insert into ${s}.product_tags values ('${P4}', 4), ('${P3}', 2)`,
    ],
    ['customers: update', `update ${s}.customers set name = 'Ada L.' where tenant = 1 and id = 10`],
    ['orders: update', `update ${s}.orders set status = 'sent', total = 150.00 where id = 100`],
    ['orders: another customer', `update ${s}.orders set customer_id = 11 where id = 101`],
    [
      'products: update of a product two orders share',
      `update ${s}.products set name = 'Lamp 2', price = 21.00 where id = '${P1}'`,
    ],
    [
      'order_lines: moved to another product',
      `update ${s}.order_lines set product_id = '${P2}', qty = 3 where order_id = 103 and line_no = 1`,
    ],
    ['tags: update', `update ${s}.tags set label = 'HOME' where id = 1`],
    [
      'orders: key change (cascading to its lines)',
      `update ${s}.orders set id = 200 where id = 102`,
    ],
    [
      'order_lines: key change',
      `update ${s}.order_lines set line_no = 9 where order_id = 100 and line_no = 2`,
    ],
    [
      'customers: key change',
      `update ${s}.orders set customer_id = null where tenant = 1 and customer_id = 11;
       update ${s}.customers set id = 13 where tenant = 1 and id = 11;
       update ${s}.orders set customer_id = 13 where id in (101, 103)`,
    ],
    [
      'products: key change',
      `update ${s}.order_lines set product_id = null where product_id = '${P3}';
       delete from ${s}.product_tags where product_id = '${P3}';
       update ${s}.products set id = '${P5}' where id = '${P3}';
       update ${s}.order_lines set product_id = '${P5}' where (order_id, line_no) in ((200, 1), (104, 1));
       insert into ${s}.product_tags values ('${P5}', 2)`,
    ],
    [
      'tags: key change',
      `delete from ${s}.product_tags where tag_id = 4;
       update ${s}.tags set id = 5 where id = 4;
       insert into ${s}.product_tags values ('${P4}', 5)`,
    ],
    [
      'product_tags: key change (a join row moved to another tag)',
      `update ${s}.product_tags set tag_id = 3 where product_id = '${P2}' and tag_id = 2`,
    ],
    [
      'product_tags: join row removed',
      `delete from ${s}.product_tags where product_id = '${P1}' and tag_id = 3`,
    ],
    [
      'tags: delete (with its join rows)',
      `delete from ${s}.product_tags where tag_id = 1; delete from ${s}.tags where id = 1`,
    ],
    ['order_lines: delete', `delete from ${s}.order_lines where order_id = 100 and line_no = 1`],
    [
      'products: delete (its lines keep no product)',
      `update ${s}.order_lines set product_id = null where product_id = '${P2}';
       delete from ${s}.product_tags where product_id = '${P2}';
       delete from ${s}.products where id = '${P2}'`,
    ],
    [
      'customers: delete',
      `update ${s}.orders set customer_id = null where tenant = 2 and customer_id = 10;
       delete from ${s}.customers where tenant = 2 and id = 10`,
    ],
    ['orders: delete (cascading to its lines)', `delete from ${s}.orders where id = 200`],
    ['product_tags: truncate', `truncate ${s}.product_tags`],
    [
      'product_tags: every product with every tag',
      `insert into ${s}.product_tags select p.id, t.id from ${s}.products p cross join ${s}.tags t`,
    ],
    ['tags: truncate (cascading to product_tags)', `truncate ${s}.tags cascade`],
    [
      'tags and join rows again',
      `insert into ${s}.tags values (1, 'a'), (2, 'b');
       insert into ${s}.product_tags select id, 1 from ${s}.products`,
    ],
    ['order_lines: truncate', `truncate ${s}.order_lines`],
    [
      'a line for every order',
      `insert into ${s}.order_lines select id, 1, '${P1}', 1 from ${s}.orders`,
    ],
    ['products: truncate (cascading to lines and join rows)', `truncate ${s}.products cascade`],
    [
      'products, lines and join rows again',
      `insert into ${s}.products values ('${P1}', 'Lamp', 19.90, '\\xdeadbeef', '{"a": 1}', 'x');
       insert into ${s}.order_lines select id, 1, '${P1}', 1 from ${s}.orders;
       insert into ${s}.product_tags values ('${P1}', 2)`,
    ],
    ['customers: truncate (cascading to orders and lines)', `truncate ${s}.customers cascade`],
    [
      'customers, orders and lines again',
      `insert into ${s}.customers values (1, 10, 'Ada', true, null);
       insert into ${s}.orders values (100, 1, 10, 'paid', null, 1.00, null, null, null),
                                      (101, 1, null, 'new', null, null, null, '{}', null);
       insert into ${s}.order_lines values (100, 1, '${P1}', 1), (101, 1, '${P1}', 2)`,
    ],
    [
      'orders: truncate, and an order inserted again in the same batch',
      `truncate ${s}.orders cascade;
       insert into ${s}.orders values (101, 1, 10, 'again', null, null, null, null, null);
       insert into ${s}.order_lines values (101, 1, '${P1}', 1)`,
    ],
  ];

  for (const [name, sql] of changes) {
    it(`after ${name}, holds exactly the recomputed documents`, async () => {
      await change(name, sql);
      await expectIndexExact();
    });
  }

  it('wrote every change at a version as new as the one it replaced', () => {
    expect(index.stats.stale).toBe(0);
    expect(log.find(([name]) => name.startsWith('orders: truncate'))?.[1]).toMatchObject({
      written: 1,
      deleted: 1,
    });
  });

  it('fans a tag shared by 10,000 orders out in batches of 500, with progress', async () => {
    await client.query(`
      insert into ${s}.tags values (999, 'shared');
      insert into ${s}.products
        select md5(i::text)::uuid, 'p' || i, i / 100.0, null, null, null from generate_series(1, 10000) i;
      insert into ${s}.product_tags select md5(i::text)::uuid, 999 from generate_series(1, 10000) i;
      insert into ${s}.orders
        select 10000 + i, 1, 10, 'bulk', null, i, null, null, null from generate_series(1, 10000) i;
      insert into ${s}.order_lines select 10000 + i, 1, md5(i::text)::uuid, 1 from generate_series(1, 10000) i;
      analyze ${s}.orders, ${s}.order_lines, ${s}.products, ${s}.product_tags, ${s}.tags;
    `);
    const seeded = await refresher.refresh(viewChanges(await capturedEvents(), [plan]));
    expect(seeded).toMatchObject({ roots: 10_000, written: 10_000, failed: 0 });
    const writes = index.stats.writes;
    const progress: number[] = [];
    await client.query(`update ${s}.tags set label = 'renamed' where id = 999`);
    const began = Date.now();
    const result = await refresher.refresh(viewChanges(await capturedEvents(), [plan]), (p) =>
      progress.push(p.roots),
    );
    const took = Date.now() - began;
    log.push(['tags: rename of a tag 10,000 orders share', result]);
    expect(result).toMatchObject({
      roots: 10_000,
      written: 10_000,
      deleted: 0,
      failed: 0,
      batches: 20,
    });
    expect(index.stats.writes - writes).toBe(20);
    expect(index.stats.largestWrite).toBe(VIEW_READ_BATCH);
    expect(progress).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 500));
    console.log(
      `view refresh fan-out: 10,000 roots in ${result.batches} reads and ${index.stats.writes - writes} bulk writes of ${VIEW_READ_BATCH}, ${took} ms (seeding refresh ${seeded.durationMs} ms)`,
    );
    await expectIndexExact({ handMade: false });
  });
});
