import type { Client } from 'pg';
import { createCatalogTable, stackApi, waitForDocuments } from './support/api-client';
import { database, uniqueTable } from './support/stack';

interface Hit {
  id: string;
  table?: string;
  score: number | null;
  source: Record<string, unknown>;
  highlight?: Record<string, string[]>;
}
interface Page {
  total: number;
  totalRelation: string;
  hits: Hit[];
  nextCursor: string | null;
  aggregations?: Record<string, Record<string, unknown>>;
  tookMs: number;
}
interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** The rows createCatalogTable inserts, for computing what each query must return. */
const WORDS = ['espresso', 'grinder', 'kettle', 'scale'];
const rows = Array.from({ length: 60 }, (_, i) => {
  const g = i + 1;
  return {
    id: g,
    name: `${WORDS[g % 4]} model ${g}${g % 10 === 0 ? ' zebracorn' : ''}`,
    category: ['coffee', 'tea', null][g % 3],
    price: g * 1.5,
    qty: g % 7,
    active: g % 2 === 0,
    bornDay: (g % 28) + 1,
    month: (g % 3) + 1,
  };
});
type Row = (typeof rows)[number];
const ids = (pred: (r: Row) => boolean) =>
  rows
    .filter(pred)
    .map((r) => String(r.id))
    .sort();
const hitIds = (page: Page) => page.hits.map((h) => h.id).sort();

function expectError(
  response: { status: number; body: unknown },
  status: number,
  pattern?: RegExp,
) {
  expect(response.status).toBe(status);
  const body = response.body as ErrorBody;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'statusCode']);
  expect(body.statusCode).toBe(status);
  if (pattern) expect(body.message).toMatch(pattern);
}

describe('query API against the real stack', () => {
  let db: Client;
  const table = uniqueTable('api_catalog');
  const composite = uniqueTable('api_composite');
  /** A word only this run's tables contain (earlier runs' tables stay in a reused stack). */
  const token = `tok${Date.now().toString(36)}`;
  const search = (query: string) => stackApi<Page>(`/v1/tables/${table}/search?${query}`);
  const post = (body: unknown, t = table) => stackApi<Page>(`/v1/tables/${t}/search`, { body });

  beforeAll(async () => {
    db = await database();
    await createCatalogTable(db, table);
    await db.query(
      `create table ${composite} (n int, region text, label text, primary key (n, region))`,
    );
    await db.query(
      `insert into ${composite} values (7, 'eu', 'zebracorn alpha'), (7, 'us', 'zebracorn beta'), (8, 'eu', 'other ${token}')`,
    );
    await waitForDocuments(table, 60);
    await waitForDocuments(composite, 3);
  });

  afterAll(async () => {
    await db.end();
  });

  it('lists the table with its document count and field types', async () => {
    const response =
      await stackApi<{ table: string; documents: number; fields: unknown[] }[]>('/v1/tables');
    expect(response.status).toBe(200);
    const entry = response.body.find((t) => t.table === table);
    expect(entry?.documents).toBe(60);
    expect(entry?.fields).toEqual(
      expect.arrayContaining([
        { name: 'name', type: 'text' },
        { name: 'price', type: 'double' },
        { name: 'qty', type: 'integer' },
        { name: 'big', type: 'long' },
        { name: 'active', type: 'boolean' },
        { name: 'born', type: 'date' },
        { name: 'attrs', type: 'object' },
      ]),
    );
  });

  it('gets documents by id, composite keys included, and 404s absent ones', async () => {
    const one = await stackApi(`/v1/tables/${table}/documents/7`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: '7', table, source: { id: 7, price: '10.50', qty: 0 } });
    expectError(await stackApi(`/v1/tables/${table}/documents/9999`), 404, /9999/);
    expectError(await stackApi(`/v1/tables/public.${table}/documents/9999`), 404);
    const key = JSON.stringify([7, 'eu']);
    const composed = await stackApi(`/v1/tables/${composite}/documents/${encodeURIComponent(key)}`);
    expect(composed.status).toBe(200);
    expect(composed.body).toMatchObject({ id: key, source: { label: 'zebracorn alpha' } });
    expectError(await stackApi(`/v1/tables/${composite}/documents/7`), 404);
    expectError(await stackApi(`/v1/tables/no_such_${table}/documents/1`), 404, /not synced/);
  });

  describe('filters: every operator, GET and POST alike', () => {
    const cases: [
      string,
      { field: string; op: string; value?: unknown },
      string,
      (r: Row) => boolean,
    ][] = [
      [
        'eq text',
        { field: 'category', op: 'eq', value: 'coffee' },
        'category:eq:coffee',
        (r) => r.category === 'coffee',
      ],
      ['eq integer', { field: 'qty', op: 'eq', value: 3 }, 'qty:eq:3', (r) => r.qty === 3],
      ['eq boolean', { field: 'active', op: 'eq', value: true }, 'active:eq:true', (r) => r.active],
      [
        'ne',
        { field: 'category', op: 'ne', value: 'coffee' },
        'category:ne:coffee',
        (r) => r.category !== 'coffee',
      ],
      [
        'in',
        { field: 'qty', op: 'in', value: [1, 2] },
        'qty:in:1,2',
        (r) => r.qty === 1 || r.qty === 2,
      ],
      ['gt numeric', { field: 'price', op: 'gt', value: 45 }, 'price:gt:45', (r) => r.price > 45],
      [
        'gte numeric',
        { field: 'price', op: 'gte', value: '45' },
        'price:gte:45',
        (r) => r.price >= 45,
      ],
      ['lt', { field: 'qty', op: 'lt', value: 2 }, 'qty:lt:2', (r) => r.qty < 2],
      [
        'lte date',
        { field: 'born', op: 'lte', value: '2024-01-05' },
        'born:lte:2024-01-05',
        (r) => r.bornDay <= 5,
      ],
      [
        'gte timestamptz',
        { field: 'updated', op: 'gte', value: '2024-02-01T00:00:00Z' },
        'updated:gte:2024-02-01T00:00:00Z',
        (r) => r.month >= 2,
      ],
      [
        'exists',
        { field: 'category', op: 'exists' },
        'category:exists',
        (r) => r.category !== null,
      ],
      [
        'exists false',
        { field: 'category', op: 'exists', value: false },
        'category:exists:false',
        (r) => r.category === null,
      ],
      [
        'prefix',
        { field: 'name', op: 'prefix', value: 'kettle' },
        'name:prefix:kettle',
        (r) => r.name.startsWith('kettle'),
      ],
    ];
    it.each(cases)('%s', async (_label, filter, getForm, predicate) => {
      const expected = ids(predicate);
      const viaPost = await post({ filters: [filter], size: 100 });
      expect(viaPost.status).toBe(200);
      expect(hitIds(viaPost.body)).toEqual(expected);
      expect(viaPost.body.total).toBe(expected.length);
      const viaGet = await search(`filter=${encodeURIComponent(getForm)}&size=100`);
      expect(viaGet.status).toBe(200);
      expect(hitIds(viaGet.body)).toEqual(expected);
    });

    it('combines filters with q (AND)', async () => {
      const response = await search(
        'q=espresso&filter=category:eq:coffee&filter=price:lt:60&size=100',
      );
      expect(hitIds(response.body)).toEqual(
        ids((r) => r.name.startsWith('espresso') && r.category === 'coffee' && r.price < 60),
      );
    });
  });

  it('searches text with simple query string syntax', async () => {
    expect(hitIds((await search('q=espresso&size=100')).body)).toEqual(
      ids((r) => r.name.startsWith('espresso')),
    );
    expect(
      hitIds((await search(`q=${encodeURIComponent('espresso -zebracorn')}&size=100`)).body),
    ).toEqual(ids((r) => r.name.startsWith('espresso') && !r.name.includes('zebracorn')));
    expect(hitIds((await search('q=kett*&size=100')).body)).toEqual(
      ids((r) => r.name.startsWith('kettle')),
    );
  });

  it('sorts on fields, ties broken by id', async () => {
    const byPrice = await search('sort=price:desc&size=5');
    expect(byPrice.body.hits.map((h) => h.id)).toEqual(['60', '59', '58', '57', '56']);
    const byCategory = await search('sort=category:asc&sort=qty:desc&size=60');
    const expected = [...rows]
      .sort(
        (a, b) =>
          (a.category ?? '\uffff').localeCompare(b.category ?? '\uffff') ||
          b.qty - a.qty ||
          String(a.id).localeCompare(String(b.id)),
      )
      .map((r) => String(r.id));
    expect(byCategory.body.hits.map((h) => h.id)).toEqual(expected);
  });

  it('pages with cursors over more than two pages: complete, ordered, no duplicates', async () => {
    for (const query of ['sort=category:asc&sort=born:desc', 'q=model', 'filter=active:eq:true']) {
      const full = await search(`${query}&size=100`);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { status: number; body: Page } = await search(
          `${query}&size=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.status).toBe(200);
        seen.push(...page.body.hits.map((h) => h.id));
        cursor = page.body.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBeGreaterThan(2);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(full.body.hits.map((h) => h.id));
    }
    // POST pages the same way.
    const first = await post({ sort: [{ field: 'price', order: 'asc' }], size: 25 });
    const second = await post({
      sort: [{ field: 'price', order: 'asc' }],
      size: 25,
      cursor: first.body.nextCursor,
    });
    const third = await post({
      sort: [{ field: 'price', order: 'asc' }],
      size: 25,
      cursor: second.body.nextCursor,
    });
    expect([...first.body.hits, ...second.body.hits, ...third.body.hits].map((h) => h.id)).toEqual(
      rows.map((r) => String(r.id)),
    );
    expect(third.body.nextCursor).toBeNull();
  });

  it('rejects tampered cursors and cursors of another query', async () => {
    const page = await search('sort=price:asc&size=5');
    const cursor = page.body.nextCursor as string;
    const flipped = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    expectError(
      await search(`sort=price:asc&cursor=${encodeURIComponent(flipped)}`),
      400,
      /cursor/,
    );
    expectError(
      await search(`sort=price:desc&cursor=${encodeURIComponent(cursor)}`),
      400,
      /different query/,
    );
    expectError(await search('cursor=not-a-cursor'), 400, /cursor/);
  });

  it('projects fields and highlights matches', async () => {
    const projected = await search('fields=name,price&size=3');
    for (const hit of projected.body.hits)
      expect(Object.keys(hit.source).sort()).toEqual(['name', 'price']);
    const highlighted = await search('q=zebracorn&highlight=true');
    expect(highlighted.body.hits).toHaveLength(6);
    for (const hit of highlighted.body.hits)
      expect(hit.highlight?.name?.[0]).toContain('<em>zebracorn</em>');
    const viaPost = await post({ q: 'zebracorn', highlight: { fields: ['name'] }, fields: ['id'] });
    expect(viaPost.body.hits[0].highlight?.name?.[0]).toContain('<em>zebracorn</em>');
    expect(Object.keys(viaPost.body.hits[0].source)).toEqual(['id']);
  });

  it('answers every aggregation type', async () => {
    const response = await post({
      size: 1,
      aggregations: [
        { name: 'categories', type: 'terms', field: 'category' },
        { name: 'actives', type: 'terms', field: 'active' },
        {
          name: 'prices',
          type: 'range',
          field: 'price',
          ranges: [{ to: 30 }, { key: 'high', from: 30 }],
        },
        { name: 'qtys', type: 'histogram', field: 'qty', interval: 2 },
        { name: 'months', type: 'date_histogram', field: 'updated', interval: 'month' },
        { name: 'price_stats', type: 'stats', field: 'price' },
        { name: 'distinct_categories', type: 'cardinality', field: 'category' },
      ],
    });
    expect(response.status).toBe(200);
    const aggs = response.body.aggregations ?? {};
    expect(aggs.categories).toEqual({
      buckets: [
        { key: 'coffee', count: 20 },
        { key: 'tea', count: 20 },
      ],
    });
    expect(aggs.actives.buckets).toEqual(
      expect.arrayContaining([
        { key: true, count: 30 },
        { key: false, count: 30 },
      ]),
    );
    expect(aggs.prices.buckets).toEqual([
      expect.objectContaining({ count: 19, to: 30 }),
      expect.objectContaining({ key: 'high', count: 41, from: 30 }),
    ]);
    expect(aggs.qtys.buckets).toEqual([
      { key: 0, count: rows.filter((r) => r.qty < 2).length },
      { key: 2, count: rows.filter((r) => r.qty >= 2 && r.qty < 4).length },
      { key: 4, count: rows.filter((r) => r.qty >= 4 && r.qty < 6).length },
      { key: 6, count: rows.filter((r) => r.qty === 6).length },
    ]);
    expect(aggs.months.buckets).toEqual([
      { key: '2024-01-01T00:00:00.000Z', count: 20 },
      { key: '2024-02-01T00:00:00.000Z', count: 20 },
      { key: '2024-03-01T00:00:00.000Z', count: 20 },
    ]);
    expect(aggs.price_stats).toEqual({ count: 60, min: 1.5, max: 90, avg: 45.75, sum: 2745 });
    expect(aggs.distinct_categories).toEqual({ value: 2 });
    // Aggregations count the filtered hits only.
    const filtered = await post({
      filters: [{ field: 'category', op: 'eq', value: 'tea' }],
      aggregations: [{ name: 'c', type: 'terms', field: 'category' }],
    });
    expect(filtered.body.aggregations?.c).toEqual({ buckets: [{ key: 'tea', count: 20 }] });
  });

  it('searches across tables, naming each hit’s table, with cursor paging', async () => {
    const tables = `${table},${composite}`;
    const all = await stackApi<Page>(`/v1/search?q=zebracorn&tables=${tables}&size=100`);
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(8);
    expect(all.body.hits.filter((h) => h.table === table)).toHaveLength(6);
    expect(
      all.body.hits
        .filter((h) => h.table === composite)
        .map((h) => h.id)
        .sort(),
    ).toEqual(['[7,"eu"]', '[7,"us"]']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Page } = await stackApi<Page>(
        `/v1/search?q=zebracorn&tables=${tables}&size=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.body.hits.map((h) => `${h.table}/${h.id}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.hits.map((h) => `${h.table}/${h.id}`));
    // Without tables: every table is searched.
    const everywhere = await stackApi<Page>(`/v1/search?q=${token}`);
    expect(everywhere.body.hits.map((h) => `${h.table}/${h.id}`)).toEqual([
      `${composite}/[8,"eu"]`,
    ]);
    expectError(await stackApi(`/v1/search?q=x&tables=${table},nope_${table}`), 404);
    expectError(await stackApi(`/v1/search?q=x&tables=*`), 404);
  });

  it('answers bad input with 400 and the error contract, naming the problem', async () => {
    expectError(await search('filter=nope:eq:1'), 400, /unknown field "nope"/);
    expectError(await search('filter=qty:eq:abc'), 400, /qty.*number/);
    expectError(await search('filter=qty:eq:1.5'), 400, /integer/);
    expectError(await search('filter=qty:prefix:1'), 400, /not a string field/);
    expectError(await search('filter=qty:like:1'), 400, /unknown operator/);
    expectError(await search('filter=born:gt:yesterday'), 400, /ISO 8601/);
    expectError(await search('filter=active:gt:true'), 400, /boolean/);
    expectError(await search('filter=attrs:eq:1'), 400, /exists/);
    expectError(await search('sort=attrs:asc'), 400, /not sortable/);
    expectError(await search('sort=price:sideways'), 400, /asc or field:desc/);
    expectError(await search('size=0'), 400, /size/);
    expectError(await search('size=1001'), 400, /size/);
    expectError(await search('size=ten'), 400, /size/);
    expectError(await search('from=10'), 400, /unknown query parameter/);
    expectError(await search('fields=nope'), 400, /unknown field/);
    expectError(await post({ size: 5000 }), 400, /size/);
    expectError(await post({ query: { match_all: {} } }), 400, /query/);
    expectError(await post({ filters: [{ field: 'qty', op: 'script', value: 1 }] }), 400);
    expectError(
      await post({ aggregations: [{ name: 'h', type: 'histogram', field: 'name', interval: 1 }] }),
      400,
      /not numeric/,
    );
    expectError(
      await post({
        aggregations: [
          { name: 'd', type: 'date_histogram', field: 'updated', interval: '1 fortnight' },
        ],
      }),
      400,
      /interval/,
    );
    expectError(
      await post({ aggregations: [{ name: 't', type: 'terms', field: 'qty', size: 500 }] }),
      400,
      /size/,
    );
    expectError(await stackApi(`/v1/tables/${table}/search`, { raw: '{"q":' }), 400, /JSON/);
  });
});
