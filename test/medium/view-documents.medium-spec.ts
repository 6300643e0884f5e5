import { randomBytes } from 'node:crypto';
import {
  ROW_SESSION_SETTINGS,
  notSentByDebezium,
  quoteIdent,
  rowColumnPlan,
  rowDocumentValue,
  wireExpression,
} from '@searchsync/change-events';
import { isColumnVisible, loadConfig, sharedEnvSchema, tableSettings } from '@searchsync/config';
import {
  VIEW_READ_BATCH,
  affectedRoots,
  planView,
  readViewCatalog,
  readViewDocuments,
  viewTables,
  type RowKey,
  type ViewDocument,
  type ViewDocumentResult,
  type ViewPlan,
} from '@searchsync/document-views';
import { Client } from 'pg';
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
 * Document views read from a real PostgreSQL (DATABASE_URL): the acceptance schema of issue #11
 * in a schema of its own, dropped afterwards. Documents are compared with what plain per-table
 * SELECTs give, joined in the test; versions, deletes, affected roots and a 10,000-root fan-out.
 */
describe('document views (PostgreSQL → view documents)', () => {
  const schema = `views_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: loadConfig(sharedEnvSchema).DATABASE_URL });
  let plan: ViewPlan;

  const documentsOf = (results: ViewDocumentResult[]): ViewDocument[] =>
    results.map((r) => {
      if (r.deleted || 'error' in r) throw new Error(`${r.id}: no document`);
      return r;
    });
  const read = (...ids: number[]) =>
    readViewDocuments(
      client,
      plan,
      ids.map((id) => [String(id)]),
    );
  const sortedIds = (keys: RowKey[]) => keys.map((k) => Number(k[0])).sort((a, b) => a - b);

  beforeAll(async () => {
    await client.connect();
    await client.query(schemaSql(schema));
    const config = acceptanceConfig(schema);
    const catalog = await readViewCatalog(client, viewTables(orderView(schema)));
    plan = planView(orderView(schema), catalog, { config });
  });

  afterAll(async () => {
    await client.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
    await client.end();
  });

  it('builds every document as the per-table rows joined give it, refs included', async () => {
    const expected = await expectedDocuments(client, schema);
    const results = documentsOf(await read(100, 101, 102, 103));
    expect(results.map((r) => r.id)).toEqual(['100', '101', '102', '103']);
    for (const result of results) {
      expect({ document: result.document, refs: result.refs }).toEqual(expected.get(result.id));
    }
  });

  it('holds the values the conversion gives (hand-checked), empty arrays and null relations', async () => {
    const [order100, order101, order102] = documentsOf(await read(100, 101, 102));
    expect(order100.document).toEqual({
      id: 100,
      tenant: 1,
      customer_id: 10,
      status: 'paid',
      placed_at: '2024-05-01T08:00:00.123456Z',
      total: '139.80',
      meta: { gift: true, n: 1.5 },
      notes: ['a', 'b c', null],
      customer: { tenant: 1, id: 10, name: 'Ada', vip: true, since: '2020-01-31' },
      lines: [
        {
          order_id: 100,
          line_no: 1,
          product_id: P1,
          qty: 2,
          product: {
            id: P1,
            name: 'Lamp',
            price: '19.90',
            photo: '3q2+7w==',
            attrs: { color: 'red', watts: 40 },
            tags: [
              { id: 1, label: 'home' },
              { id: 3, label: 'sale' },
            ],
          },
        },
        {
          order_id: 100,
          line_no: 2,
          product_id: P2,
          qty: 1,
          product: {
            id: P2,
            name: 'Desk',
            price: '120.00',
            photo: null,
            attrs: null,
            tags: [{ id: 2, label: 'office' }],
          },
        },
      ],
    });
    expect(order100.refs).toEqual(
      [
        `${schema}.orders:100`,
        `${schema}.customers:[1,10]`,
        `${schema}.order_lines:[100,1]`,
        `${schema}.order_lines:[100,2]`,
        `${schema}.products:${P1}`,
        `${schema}.products:${P2}`,
        `${schema}.tags:1`,
        `${schema}.tags:2`,
        `${schema}.tags:3`,
        `${schema}.product_tags:["${P1}",1]`,
        `${schema}.product_tags:["${P1}",3]`,
        `${schema}.product_tags:["${P2}",2]`,
      ].sort(),
    );
    // A NULL foreign key: no customer; no lines: an empty array.
    expect(order101.document).toMatchObject({ customer: null, lines: [], notes: [] });
    expect(order101.refs).toEqual([`${schema}.orders:101`]);
    // Lines in key order; a line without product; a product without tags.
    expect(order102.document.lines).toEqual([
      {
        order_id: 102,
        line_no: 1,
        product_id: P3,
        qty: 5,
        product: {
          id: P3,
          name: 'Pen',
          price: '1.50',
          photo: '',
          attrs: [1, 'two', null],
          tags: [],
        },
      },
      { order_id: 102, line_no: 2, product_id: null, qty: 1, product: null },
    ]);
    expect(order102.document).toMatchObject({
      meta: 'plain',
      notes: null,
      customer: { name: 'Cy' },
    });
  });

  it('has a root part equal to the table document of the row, as verify converts it', async () => {
    const catalog = await readViewCatalog(client, [`${schema}.orders`]);
    const orders = catalog.get(`${schema}.orders`);
    const settings = tableSettings(acceptanceConfig(schema), { schema, table: 'orders' });
    const plans = (orders?.columns ?? [])
      .filter((c) => !c.notReplicated && !notSentByDebezium(c))
      .filter((c) => isColumnVisible(settings, c.name) || orders?.primaryKey.includes(c.name))
      .map((c) => rowColumnPlan(c));
    await client.query(ROW_SESSION_SETTINGS);
    const { rows } = await client.query<Record<string, string | null>>(
      `select ${plans.map((p, i) => `${wireExpression(p)} as c${i}`).join(', ')} from ${quoteIdent(schema)}.orders order by id`,
    );
    const tableDocuments = rows.map((row) =>
      Object.fromEntries(plans.map((p, i) => [p.name, rowDocumentValue(p, row[`c${i}`])])),
    );
    const views = documentsOf(await read(100, 101, 102, 103));
    const rootParts = views.map(({ document: { customer: _c, lines: _l, ...root } }) => root);
    expect(rootParts).toEqual(tableDocuments);
    expect(tableDocuments[0]).not.toHaveProperty('secret');
  });

  it('versions never go back, and go up once a change is committed', async () => {
    const [first] = documentsOf(await read(100));
    const [second] = documentsOf(await read(100));
    expect(second.version).toBeGreaterThanOrEqual(first.version);
    if (second.version === first.version) expect(second.document).toEqual(first.document);
    await client.query(`update ${quoteIdent(schema)}.tags set label = 'HOME' where id = 1`);
    const [third] = documentsOf(await read(100));
    expect(third.version).toBeGreaterThan(second.version);
    expect(third.document.lines).toMatchObject([
      { product: { tags: [{ label: 'HOME' }, { label: 'sale' }] } },
      {},
    ]);
  });

  it('gives a delete for a root that is gone, and the new key after a key change', async () => {
    await client.query(`update ${quoteIdent(schema)}.orders set id = 201 where id = 101`);
    const [gone, moved, never] = await read(101, 201, 999);
    expect(gone).toMatchObject({ id: '101', deleted: true });
    expect(never).toMatchObject({ id: '999', deleted: true });
    expect(moved).toMatchObject({
      id: '201',
      deleted: false,
      document: { id: 201, status: 'new' },
    });
    expect(gone.version).toBe(moved.version);
  });

  it('finds exactly the roots reaching a row of any participating table, now', async () => {
    const s = quoteIdent(schema);
    const roots = (table: string, keys: RowKey[]) =>
      affectedRoots(client, plan, `${schema}.${table}`, keys).then(sortedIds);
    expect(await roots('products', [[P1]])).toEqual([100, 103]);
    expect(await roots('products', [[P1], [P2], [P3]])).toEqual([100, 102, 103]);
    expect(await roots('tags', [['2']])).toEqual([100]);
    expect(await roots('product_tags', [[P1, '3']])).toEqual([100, 103]);
    expect(await roots('customers', [['1', '10']])).toEqual([100]);
    expect(await roots('customers', [['2', '10']])).toEqual([102]);
    expect(await roots('order_lines', [['102', '2']])).toEqual([102]);
    expect(await roots('orders', [['103'], ['999']])).toEqual([103]);
    // A join row added: the roots it newly reaches.
    await client.query(`insert into ${s}.product_tags values ('${P3}', 2)`);
    expect(await roots('product_tags', [[P3, '2']])).toEqual([102]);
    expect(await roots('tags', [['2']])).toEqual([100, 102]);
    // A row of no order.
    await client.query(`insert into ${s}.tags values (4, 'unused')`);
    expect(await roots('tags', [['4']])).toEqual([]);
    expect(await affectedRoots(client, plan, 'public.elsewhere', [['1']])).toEqual([]);
  });

  it('fans out a tag shared by 10,000 products × orders in batches', async () => {
    const s = quoteIdent(schema);
    const began = Date.now();
    await client.query(`
      insert into ${s}.tags values (999, 'shared');
      insert into ${s}.products
        select md5(i::text)::uuid, 'p' || i, i / 100.0, null, null, null
          from generate_series(1, 10000) i;
      insert into ${s}.product_tags select md5(i::text)::uuid, 999 from generate_series(1, 10000) i;
      insert into ${s}.orders
        select 10000 + i, 1, 10, 'bulk', now(), i, null, null, null from generate_series(1, 10000) i;
      insert into ${s}.order_lines
        select 10000 + i, 1, md5(i::text)::uuid, 1 from generate_series(1, 10000) i;
      analyze ${s}.orders, ${s}.order_lines, ${s}.products, ${s}.product_tags, ${s}.tags;
    `);
    const seeded = Date.now();
    const roots = await affectedRoots(client, plan, `${schema}.tags`, [['999']]);
    const found = Date.now();
    expect(roots).toHaveLength(10_000);
    const batches: ViewDocument[][] = [];
    for (let i = 0; i < roots.length; i += VIEW_READ_BATCH) {
      batches.push(
        documentsOf(await readViewDocuments(client, plan, roots.slice(i, i + VIEW_READ_BATCH))),
      );
    }
    const read = Date.now();
    const documents = batches.flat();
    expect(documents).toHaveLength(10_000);
    expect(new Set(documents.map((d) => d.id)).size).toBe(10_000);
    for (const { document, refs } of documents) {
      expect(document).toMatchObject({
        lines: [{ product: { tags: [{ id: 999, label: 'shared' }] } }],
      });
      expect(refs).toContain(`${schema}.tags:999`);
    }
    console.log(
      `view fan-out: seed ${seeded - began} ms; affected roots (10,000) ${found - seeded} ms; ` +
        `read and converted ${documents.length} documents in ${batches.length} statements of ` +
        `${VIEW_READ_BATCH} in ${read - found} ms`,
    );
  });
});
