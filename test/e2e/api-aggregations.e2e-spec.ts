import type { Client } from 'pg';
import { stackApi, waitForDocuments } from './support/api-client';
import { database, uniqueTable } from './support/stack';

interface Bucket {
  key: string | number | boolean;
  count: number;
}
interface BucketAnswer {
  buckets: Bucket[];
  truncated?: boolean;
  otherCount?: number;
}
interface Page {
  total: number;
  totalRelation: string;
  hits: unknown[];
  nextCursor: string | null;
  aggregations?: Record<string, Record<string, unknown>>;
}
interface ErrorBody {
  statusCode: number;
  message: string;
}

const ROWS = 2000;
const DAYS = 1670;

/**
 * Aggregation-only queries and histograms that say when they were cut, on a table large enough
 * that a daily histogram has more buckets than any small default; every count is checked
 * against PostgreSQL's own group-by.
 */
describe('aggregations against the real stack', () => {
  let db: Client;
  const table = uniqueTable('api_aggs');
  const post = (body: unknown) => stackApi<Page>(`/v1/tables/${table}/search`, { body });
  const buckets = (page: Page, name: string) =>
    page.aggregations?.[name] as unknown as BucketAnswer;
  /** PostgreSQL's answer as buckets: `key` and `count` columns, already in the engine's order. */
  const groupBy = async (sql: string): Promise<Bucket[]> =>
    (await db.query<{ key: string | number; count: string }>(sql)).rows.map((r) => ({
      key: r.key,
      count: Number(r.count),
    }));

  beforeAll(async () => {
    db = await database();
    await db.query(`create table ${table} (
      id int primary key,
      day date not null,
      at timestamptz not null,
      kind text,
      amount int not null
    )`);
    // 2,000 rows over 1,670 distinct days (the first 330 days twice); 37 kinds of uneven
    // sizes, some NULL; amounts 0-999.
    await db.query(`insert into ${table}
      select i,
        date '2020-01-01' + (i % ${DAYS}),
        timestamptz '2020-01-01T00:00:00Z' + (i % ${DAYS}) * interval '1 day' + (i % 24) * interval '1 hour',
        case when i % 50 = 0 then null else 'k' || (i * i % 37) end,
        (i * 37) % 1000
      from generate_series(0, ${ROWS - 1}) i`);
    await waitForDocuments(table, ROWS);
  });

  afterAll(async () => {
    await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  it('answers size 0 with aggregations only: no hits, no cursor, the total of the filtered rows', async () => {
    const response = await post({
      size: 0,
      filters: [{ field: 'amount', op: 'lt', value: 500 }],
      aggregations: [{ name: 'amounts', type: 'stats', field: 'amount' }],
    });
    expect(response.status).toBe(200);
    const expected = (
      await db.query<{ count: string; min: number; max: number; sum: string }>(
        `select count(*), min(amount), max(amount), sum(amount) from ${table} where amount < 500`,
      )
    ).rows[0];
    expect(response.body.hits).toEqual([]);
    expect(response.body.nextCursor).toBeNull();
    expect(response.body.total).toBe(Number(expected.count));
    expect(response.body.aggregations?.amounts).toMatchObject({
      count: Number(expected.count),
      min: expected.min,
      max: expected.max,
      sum: Number(expected.sum),
    });
  });

  it('refuses size 0 without aggregations, and on the GET form, saying why', async () => {
    const bare = await post({ size: 0 });
    expect(bare.status).toBe(400);
    expect((bare.body as unknown as ErrorBody).message).toMatch(
      /size: 0 asks for aggregations only and needs at least one aggregation/,
    );
    const get = await stackApi<ErrorBody>(`/v1/tables/${table}/search?size=0`);
    expect(get.status).toBe(400);
    expect(get.body.message).toMatch(/size 0 \(aggregations only\) needs aggregations/);
    const cursor = await post({
      size: 0,
      cursor: 'x',
      aggregations: [{ name: 'n', type: 'cardinality', field: 'kind' }],
    });
    expect(cursor.status).toBe(400);
    expect((cursor.body as unknown as ErrorBody).message).toMatch(/cursor/);
  });

  it('returns every daily bucket of 1,670 days by default, equal to PostgreSQL', async () => {
    const response = await post({
      size: 0,
      aggregations: [
        { name: 'days', type: 'date_histogram', field: 'day', interval: 'day' },
        { name: 'instants', type: 'date_histogram', field: 'at', interval: 'day' },
      ],
    });
    expect(response.status).toBe(200);
    const expected = await groupBy(
      `select to_char(day, 'YYYY-MM-DD"T00:00:00.000Z"') as key, count(*) from ${table} group by day order by day`,
    );
    expect(expected).toHaveLength(DAYS);
    const days = buckets(response.body, 'days');
    expect(days.buckets).toHaveLength(DAYS);
    expect(days.buckets).toEqual(expected);
    expect(days.truncated).toBeUndefined();
    const instants = await groupBy(
      `select to_char(date_trunc('day', at at time zone 'UTC'), 'YYYY-MM-DD"T00:00:00.000Z"') as key, count(*)
       from ${table} group by 1 order by 1`,
    );
    expect(buckets(response.body, 'instants')).toEqual({ buckets: instants });
  });

  it('says truncated, with the count left out, when a histogram has more buckets than its size', async () => {
    const response = await post({
      size: 0,
      aggregations: [
        { name: 'days', type: 'date_histogram', field: 'day', interval: 'day', size: 1000 },
        { name: 'amounts', type: 'histogram', field: 'amount', interval: 10, size: 20 },
        { name: 'all_amounts', type: 'histogram', field: 'amount', interval: 10 },
      ],
    });
    expect(response.status).toBe(200);
    const expectedDays = await groupBy(
      `select to_char(day, 'YYYY-MM-DD"T00:00:00.000Z"') as key, count(*) from ${table} group by day order by day`,
    );
    const sum = (list: Bucket[]) => list.reduce((s, b) => s + b.count, 0);
    expect(buckets(response.body, 'days')).toEqual({
      buckets: expectedDays.slice(0, 1000),
      truncated: true,
      otherCount: sum(expectedDays.slice(1000)),
    });
    const expectedAmounts = await groupBy(
      `select (amount / 10 * 10)::float8 as key, count(*) from ${table} group by 1 order by 1`,
    );
    expect(expectedAmounts.length).toBeGreaterThan(20);
    expect(buckets(response.body, 'amounts')).toEqual({
      buckets: expectedAmounts.slice(0, 20),
      truncated: true,
      otherCount: ROWS - sum(expectedAmounts.slice(0, 20)),
    });
    expect(buckets(response.body, 'all_amounts')).toEqual({ buckets: expectedAmounts });
  });

  it('says when a terms aggregation left other values out, and counts them', async () => {
    const response = await post({
      size: 0,
      aggregations: [
        { name: 'top', type: 'terms', field: 'kind', size: 5 },
        { name: 'every', type: 'terms', field: 'kind', size: 100 },
      ],
    });
    expect(response.status).toBe(200);
    // The engine orders by count, then key (bytes), as "C" collation does.
    const expected = await groupBy(
      `select kind as key, count(*) from ${table} where kind is not null
       group by kind order by count(*) desc, kind collate "C"`,
    );
    expect(expected.length).toBeGreaterThan(5);
    const withKind = expected.reduce((s, b) => s + b.count, 0);
    const top = buckets(response.body, 'top');
    expect(top.buckets).toEqual(expected.slice(0, 5));
    expect(top.truncated).toBe(true);
    // Rows without a kind are in no bucket, so they are not "other" either.
    expect(top.otherCount).toBe(withKind - expected.slice(0, 5).reduce((s, b) => s + b.count, 0));
    expect(buckets(response.body, 'every')).toEqual({ buckets: expected });
  });
});
