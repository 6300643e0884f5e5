import type { Client } from 'pg';
import { search } from './support/admin';
import { apiGet, database, eventually, uniqueTable } from './support/stack';

interface SearchBody {
  total: number;
  hits: { id: string; source: Record<string, unknown> }[];
}

const documentOf = (table: string, id: string | number) =>
  apiGet(`/v1/tables/${table}/documents/${id}`);

describe('PostgreSQL changes reach the search API', () => {
  let db: Client;

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    await db.end();
  });

  it('serves the demo table from the initial snapshot', async () => {
    const result = await eventually(
      () => apiGet<SearchBody>('/v1/tables/products/search?q=espresso'),
      (r) => r.status === 200 && r.body.total >= 2,
      { what: 'demo products searchable' },
    );
    expect(result.body.hits.map((h) => h.source.name)).toContain('Espresso machine');
  });

  it('follows insert, update, primary-key change, delete and truncate of a table created after start-up', async () => {
    const table = uniqueTable('lifecycle');
    await db.query(`create table ${table} (id int primary key, name text not null, note text)`);

    await db.query(`insert into ${table} values (1, 'first draft', 'alpha')`);
    const inserted = await eventually(
      () => documentOf(table, 1),
      (r) => r.status === 200,
      { what: 'inserted row indexed', timeoutMs: 90_000 },
    );
    expect(inserted.body).toEqual({
      id: '1',
      table,
      source: { id: 1, name: 'first draft', note: 'alpha' },
    });

    await db.query(`update ${table} set name = 'second draft' where id = 1`);
    await eventually(
      () => documentOf(table, 1),
      (r) => (r.body as { source?: { name?: string } }).source?.name === 'second draft',
      { what: 'update applied' },
    );

    await db.query(`update ${table} set id = 2 where id = 1`);
    await eventually(
      async () => [await documentOf(table, 1), await documentOf(table, 2)],
      ([before, after]) => before.status === 404 && after.status === 200,
      { what: 'primary-key change: old id gone, new id present' },
    );

    await db.query(`delete from ${table} where id = 2`);
    const deleted = await eventually(
      () => documentOf(table, 2),
      (r) => r.status === 404,
      { what: 'delete applied' },
    );
    expect(deleted.body).toMatchObject({ statusCode: 404, error: 'Not Found' });

    await db.query(
      `insert into ${table} select g, 'bulk ' || g, null from generate_series(10, 59) g`,
    );
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?q=bulk&size=100`),
      (r) => r.status === 200 && r.body.total === 50,
      { what: '50 rows indexed' },
    );
    const indices = async () =>
      (
        (await search(
          'GET',
          `/_cat/indices/searchsync.public.${table}.v*?format=json&h=index`,
        )) as {
          index: string;
        }[]
      )
        .map((r) => r.index)
        .sort();
    expect(await indices()).toEqual([`searchsync.public.${table}.v1`]);
    await db.query(`truncate ${table}`);
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?size=100`),
      (r) => r.status === 200 && r.body.total === 0,
      { what: 'truncate removed every document' },
    );
    // An empty generation replaced the old one (no delete-by-query); the table keeps its fields.
    expect(await indices()).toEqual([`searchsync.public.${table}.v2`]);
    await db.query(`insert into ${table} values (7, 'after truncate', null)`);
    await eventually(
      () => documentOf(table, 7),
      (r) => r.status === 200,
      { what: 'a write after the truncate' },
    );
    const listed = await apiGet<{ table: string; fields: { name: string }[] }[]>('/v1/tables');
    const entry = listed.body.find((t) => t.table === table);
    expect(entry?.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['id', 'name']));
  });

  it('answers 404 with the error contract for an unknown table', async () => {
    const response = await apiGet('/v1/tables/no_such_table/documents/1');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: expect.stringContaining('no_such_table'),
    });
  });
});
