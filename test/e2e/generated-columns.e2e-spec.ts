import type { Client } from 'pg';
import { admin, search } from './support/admin';
import { apiGet, database, eventually, uniqueTable } from './support/stack';

interface VerifyBody {
  rows: number;
  documents: number;
  missingTotal: number;
  extraTotal: number;
  mismatchedTotal: number;
  mismatchedColumns: Record<string, number>;
  notReplicated: { column: string; reason: string }[];
}

interface ResyncBody {
  id: string;
  state: string;
  rowsScanned: number | null;
  scanStatus: string | null;
}

const ROWS = 40;

/** Resyncs a table of ROWS rows, waits for Debezium to finish it, then for verify to be clean. */
async function resyncUntilClean(table: string): Promise<void> {
  const started = await admin<ResyncBody>('POST', `/v1/tables/${table}/resync`);
  expect(started.status).toBe(202);
  const done = await eventually(
    () => admin<ResyncBody>('GET', `/v1/resyncs/${started.body.id}`),
    (r) => ['completed', 'failed', 'aborted'].includes(r.body.state),
    { what: 'resync finished', timeoutMs: 120_000 },
  );
  expect(done.body).toMatchObject({
    state: 'completed',
    rowsScanned: ROWS,
    scanStatus: 'SUCCEEDED',
  });
  const repaired = await eventually(
    () => admin<VerifyBody>('POST', `/v1/tables/${table}/verify`),
    (r) => r.body.missingTotal === 0 && r.body.mismatchedTotal === 0,
    { what: 'verify clean after resync', timeoutMs: 60_000 },
  );
  expect(repaired.body).toMatchObject({ rows: ROWS, documents: ROWS, extraTotal: 0 });
}

/**
 * PostgreSQL 15 does not replicate generated columns: documents, verify and resync must all leave
 * them out alike. The same table holds the values verify used to misread (jsonb and bigint beyond
 * 2^53, a 30-digit numeric), which the indexer stores exactly.
 */
describe('generated columns and exact values: verify and resync agree with the indexer', () => {
  let db: Client;
  const table = uniqueTable('generated');
  const alias = `searchsync.public.${table}`;
  const verify = () => admin<VerifyBody>('POST', `/v1/tables/${table}/verify`);

  beforeAll(async () => {
    db = await database();
    await db.query(`create table ${table} (
      id int primary key,
      price numeric(12, 2) not null,
      qty int not null,
      total numeric generated always as (price * qty) stored,
      big bigint, doc jsonb, amount numeric
    )`);
    await db.query(
      `insert into ${table} (id, price, qty, big, doc, amount)
       select g, g * 1.25, g % 7, 9007199254740993 + g,
              jsonb_build_object('n', 12345678901234567890 + g, 'list', jsonb_build_array(g, 'x')),
              123456789012345678901234567890 + g
         from generate_series(1, ${ROWS}) g`,
    );
    await eventually(
      () => apiGet<{ source: Record<string, unknown> }>(`/v1/tables/${table}/documents/${ROWS}`),
      (r) => r.status === 200,
      { what: `${ROWS} rows indexed`, timeoutMs: 120_000 },
    );
  });

  afterAll(async () => {
    await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  it('indexes the rows exactly and without the generated column', async () => {
    const { body } = await apiGet<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/1`,
    );
    expect(body.source).toEqual({
      id: 1,
      price: '1.25',
      qty: 1,
      big: '9007199254740994',
      doc: { n: '12345678901234567891', list: [1, 'x'] },
      amount: '123456789012345678901234567891',
    });
  });

  it('verifies clean, naming the generated column as not replicated', async () => {
    const result = await eventually(verify, (r) => r.body.documents === ROWS, {
      what: 'all documents counted',
    });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      rows: ROWS,
      documents: ROWS,
      missingTotal: 0,
      extraTotal: 0,
      mismatchedTotal: 0,
    });
    expect(result.body.notReplicated).toEqual([
      { column: 'total', reason: expect.stringContaining('generated column') as string },
    ]);
  });

  it('still sees one digit off in a value beyond 2^53', async () => {
    const stored = (
      await apiGet<{ source: Record<string, unknown> }>(`/v1/tables/${table}/documents/2`)
    ).body.source;
    await search('PUT', `/${alias}/_doc/2?refresh=true`, {
      ...stored,
      doc: { n: '12345678901234567891', list: [2, 'x'] },
    });
    const result = await verify();
    expect(result.body).toMatchObject({ mismatchedTotal: 1, mismatchedColumns: { doc: 1 } });
  });

  it('resyncs the table to completion, repairing it, and verify stays clean', async () => {
    await search('DELETE', `/${alias}/_doc/3?refresh=true`);
    await resyncUntilClean(table);
    const { body } = await apiGet<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/3`,
    );
    expect(body.source).not.toHaveProperty('total');
    expect(body.source.big).toBe('9007199254740996');
  });
});

interface TableListing {
  table: string;
  documents: number;
  fields: { name: string; type: string }[];
  notReplicated: { column: string; reason: string }[];
}

const CONNECTOR = process.env.ADMIN_CONNECTOR_NAME ?? 'searchsync-postgres';

/**
 * A table that appears after start already holding rows (created without a key, filled, then
 * keyed — all in one transaction): its rows reach search through Debezium's snapshot, which must
 * leave the generated column out like the stream does. The admin puts the column into the
 * connector's column.exclude.list before it lets the table into the publication with its
 * snapshot signal, and says in GET /v1/tables that the column is not replicated, and why.
 */
describe('generated columns of a table that enters with rows after start', () => {
  let db: Client;
  const table = uniqueTable('gen_rows');
  const entry = `public\\.${table}\\.total`;
  const verify = () => admin<VerifyBody>('POST', `/v1/tables/${table}/verify`);

  beforeAll(async () => {
    db = await database();
    await db.query('begin');
    await db.query(`create table ${table} (
      id int not null,
      price numeric(12, 2) not null,
      qty int not null,
      total numeric generated always as (price * qty) stored,
      note text
    )`);
    await db.query(
      `insert into ${table} (id, price, qty, note)
       select g, g * 2.5, g % 5, 'row ' || g from generate_series(1, ${ROWS}) g`,
    );
    await db.query(`alter table ${table} add primary key (id)`);
    await db.query('commit');
  });

  afterAll(async () => {
    await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  it('serves every existing row, without the generated column', async () => {
    const last = await eventually(
      () => apiGet<{ source: Record<string, unknown> }>(`/v1/tables/${table}/documents/${ROWS}`),
      (r) => r.status === 200,
      { what: `the snapshot of ${table} indexed`, timeoutMs: 180_000 },
    );
    expect(last.body.source).toEqual({ id: ROWS, price: '100.00', qty: 0, note: `row ${ROWS}` });
    const first = await apiGet<{ source: Record<string, unknown> }>(
      `/v1/tables/${table}/documents/1`,
    );
    expect(first.body.source).toEqual({ id: 1, price: '2.50', qty: 1, note: 'row 1' });
  });

  it('excludes the column in the running connector, recorded as managed by searchsync', async () => {
    const { status, body } = await admin<{ config: Record<string, string> }>(
      'GET',
      `/v1/connectors/${CONNECTOR}`,
    );
    expect(status).toBe(200);
    expect(body.config['column.exclude.list'].split(',')).toContain(entry);
    expect(body.config['searchsync.managed.column.exclude.list'].split(',')).toContain(entry);
  });

  it('keeps the exclusion, next to the user’s own entries, when the connector is applied from the template', async () => {
    const dry = await admin<{ config: Record<string, string> }>(
      'PUT',
      `/v1/connectors/${CONNECTOR}?dryRun=true`,
      {
        template: 'debezium-postgres',
        config: { 'column.exclude.list': 'public\\.users\\.password_hash' },
      },
    );
    expect(dry.status).toBe(200);
    const list = dry.body.config['column.exclude.list'].split(',');
    expect(list[0]).toBe('public\\.users\\.password_hash');
    expect(list).toContain(entry);
    expect(dry.body.config['searchsync.managed.column.exclude.list'].split(',')).not.toContain(
      'public\\.users\\.password_hash',
    );
  });

  it('verifies clean, naming the generated column as not replicated', async () => {
    const result = await eventually(verify, (r) => r.body.documents === ROWS, {
      what: 'all documents counted',
    });
    expect(result.body).toMatchObject({
      rows: ROWS,
      documents: ROWS,
      missingTotal: 0,
      extraTotal: 0,
      mismatchedTotal: 0,
    });
    expect(result.body.notReplicated).toEqual([
      { column: 'total', reason: expect.stringContaining('generated column') as string },
    ]);
  });

  it('resyncs the table to completion', async () => {
    await search('DELETE', `/searchsync.public.${table}/_doc/7?refresh=true`);
    await resyncUntilClean(table);
  });

  it('lists the table with the column not replicated and why, and no field for it', async () => {
    const listed = await eventually(
      () => apiGet<TableListing[]>('/v1/tables'),
      (r) => (r.body.find((t) => t.table === table)?.notReplicated.length ?? 0) > 0,
      { what: `${table} listed with its not-replicated column` },
    );
    const mine = listed.body.find((t) => t.table === table)!;
    expect(mine.notReplicated).toEqual([
      {
        column: 'total',
        reason: expect.stringContaining('PostgreSQL replicates generated columns only') as string,
      },
    ]);
    expect(mine.fields.map((f) => f.name).sort()).toEqual(['id', 'note', 'price', 'qty']);
    // Tables without such columns say so with an empty list.
    const others = listed.body.filter((t) => t.table !== table);
    for (const other of others) expect(Array.isArray(other.notReplicated)).toBe(true);
  });
});
