import type { Client } from 'pg';
import { admin } from './support/admin';
import { stackApi } from './support/api-client';
import { database, eventually, uniqueTable } from './support/stack';

/**
 * Every built-in type PostgreSQL 15 has (plus hstore, citext, ltree) at its edge values, one table
 * per class, each with REPLICA IDENTITY DEFAULT and FULL: every row is served by the API exactly
 * as docs/values.md says, TOASTed values survive updates of other columns, microsecond range
 * filters and upper-case uuid filters are exact, and verify finds no drift.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface ClassTable {
  name: string;
  columns: string;
  /** Row id → the values to insert (SQL literals, in column order). */
  rows: Record<number, string>;
  /** Row id → the exact document the API must serve (id included by the test). */
  expected: Record<number, Record<string, Json>>;
}

const BIG_DIGITS = `1${'0'.repeat(1000)}`;

const CLASSES: ClassTable[] = [
  {
    name: 'numbers',
    columns:
      'i2 smallint, i4 integer, i8 bigint, n numeric, np numeric(40,20), r real, d double precision, m money, o oid, b boolean',
    rows: {
      1: `-32768, -2147483648, -9223372036854775808, '-0.000000000000000000000000000001', '1.00000000000000000001', '-Infinity', '-Infinity', '-92233720368547758.08', 0, false`,
      2: `32767, 2147483647, 9223372036854775807, '1e1000', null, 'Infinity', 'Infinity', '92233720368547758.07', 4294967295, true`,
      3: `0, 0, 9007199254740993, 'NaN', '0', 'NaN', '-0', '0', 1, null`,
      4: `1, 1, 9007199254740991, 'Infinity', '-1.5', 1.5, 1.7976931348623157e308, '1234.56', 2, true`,
      5: `2, 2, -9007199254740991, '-Infinity', null, 3.4028235e38, 5e-324, null, null, null`,
    },
    expected: {
      1: {
        i2: -32768,
        i4: -2147483648,
        i8: '-9223372036854775808',
        n: '-0.000000000000000000000000000001',
        np: '1.00000000000000000001',
        r: '-Infinity',
        d: '-Infinity',
        m: '-92233720368547758.08',
        o: 0,
        b: false,
      },
      2: {
        i2: 32767,
        i4: 2147483647,
        i8: '9223372036854775807',
        n: BIG_DIGITS,
        np: null,
        r: 'Infinity',
        d: 'Infinity',
        m: '92233720368547758.07',
        o: 4294967295,
        b: true,
      },
      3: {
        i2: 0,
        i4: 0,
        i8: '9007199254740993',
        n: 'NaN',
        np: '0.00000000000000000000',
        r: 'NaN',
        d: 0,
        m: '0.00',
        o: 1,
      },
      4: {
        i2: 1,
        i4: 1,
        i8: 9007199254740991,
        n: 'Infinity',
        np: '-1.50000000000000000000',
        r: 1.5,
        d: 1.7976931348623157e308,
        m: '1234.56',
        o: 2,
        b: true,
      },
      5: { i2: 2, i4: 2, i8: -9007199254740991, n: '-Infinity', r: 3.4028235e38, d: 5e-324 },
    },
  },
  {
    name: 'strings',
    columns:
      't text, v varchar(10), c char(5), ci citext, q "char", e kitchen_mood, dt kitchen_text, di kitchen_posint, dn kitchen_price, u uuid, ba bytea, x xml, tv tsvector, lt ltree, hs hstore',
    rows: {
      1: `'héllo wörld ✓', 'varchar', 'ab', 'MiXeD Case', 'q', 'Ünïcode mood', 'dom', 7, 12.5, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\\x00ff10', '<a x="1">t&amp;</a>', 'a fat cat:2 sat', 'top.science', 'a=>1, "b c"=>"d", n=>NULL'`,
      2: `'', '', '', '', null, 'sad', '', 1, -0.01, '00000000-0000-0000-0000-000000000000', '', '<empty/>', '', '', ''`,
    },
    expected: {
      1: {
        t: 'héllo wörld ✓',
        v: 'varchar',
        c: 'ab   ',
        ci: 'MiXeD Case',
        q: 'q',
        e: 'Ünïcode mood',
        dt: 'dom',
        di: 7,
        dn: '12.50',
        u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        ba: 'AP8Q',
        x: '<a x="1">t&amp;</a>',
        tv: "'a' 'cat':2 'fat' 'sat'",
        lt: 'top.science',
        hs: '"a"=>"1", "n"=>NULL, "b c"=>"d"',
      },
      2: {
        t: '',
        v: '',
        c: '     ',
        ci: '',
        q: null,
        e: 'sad',
        dt: '',
        di: 1,
        dn: '-0.01',
        u: '00000000-0000-0000-0000-000000000000',
        ba: '',
        x: '<empty/>',
        tv: '',
        lt: '',
        hs: '',
      },
    },
  },
  {
    name: 'temporal',
    columns:
      'd date, ts timestamp, ts0 timestamp(0), ts3 timestamp(3), tz timestamptz, t time, tt timetz, iv interval',
    rows: {
      1: `'2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.6', '2024-01-02 03:04:05.1239', '2024-01-02 03:04:05.123456+02', '01:02:03.000001', '01:02:03.123456+05:30', '1 year 2 mons 3 days 04:05:06.789012'`,
      2: `'-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '00:00', '00:00:00+14', '-178000000 years'`,
      3: `'infinity', 'infinity', 'infinity', 'infinity', 'infinity', '24:00:00', '23:59:59.999999-01', '178000000 years'`,
      4: `'0044-03-15 BC', '0044-03-15 10:11:12.654321 BC', '4713-01-01 00:00:00 BC', null, '0001-01-01 00:00:00.000001+00 BC', '23:59:59.999999', null, '-1 day -02:03:04.000005 +3 months'`,
      5: `'12345-06-07', '1969-12-31 23:59:59.999999', null, null, '294276-12-31 23:59:59.999999+00', null, null, '-178000000 years -2147483647 days -2147483647:59:59.999999'`,
    },
    expected: {
      1: {
        d: '2024-01-02',
        ts: '2024-01-02T03:04:05.123456',
        ts0: '2024-01-02T03:04:06.000000',
        ts3: '2024-01-02T03:04:05.124000',
        tz: '2024-01-02T01:04:05.123456Z',
        t: '01:02:03.000001',
        tt: '19:32:03.123456Z',
        iv: 'P1Y2M3DT4H5M6.789012S',
      },
      2: {
        d: '-infinity',
        ts: '-infinity',
        ts0: '-infinity',
        ts3: '-infinity',
        tz: '-infinity',
        t: '00:00:00',
        tt: '10:00:00Z',
        iv: 'P-178000000Y0M0DT0H0M0S',
      },
      3: {
        d: 'infinity',
        ts: 'infinity',
        ts0: 'infinity',
        ts3: 'infinity',
        tz: 'infinity',
        t: '24:00:00',
        tt: '00:59:59.999999Z',
        iv: 'P178000000Y0M0DT0H0M0S',
      },
      4: {
        d: '-0043-03-15',
        ts: '-0043-03-15T10:11:12.654321',
        ts0: '-4712-01-01T00:00:00.000000',
        tz: '0000-01-01T00:00:00.000001Z',
        t: '23:59:59.999999',
        iv: 'P0Y3M-1DT-2H-3M-4.000005S',
      },
      5: {
        d: '+12345-06-07',
        ts: '1969-12-31T23:59:59.999999',
        tz: '+294276-12-31T23:59:59.999999Z',
        iv: 'P-178000000Y0M-2147483647DT-2147483647H-59M-59.999999S',
      },
    },
  },
  {
    name: 'json',
    columns: 'j json, jb jsonb',
    rows: {
      1: `'{"b": 2, "a": [1, 2.50, "x"], "a": 3}', '{"nested": {"deep": [true, "x", 9007199254740993, 1.0000000000000000001, 1e400]}, "ü": "ünï"}'`,
      2: `'[]', '[1,2,3]'`,
      3: `'"text"', '"text with \\"quotes\\" ✓"'`,
      4: `'42', '12345678901234567890123456789'`,
      5: `'null', 'null'`,
      6: `'true', '[{"a":1},{"a":"x"},[1,"mixed",null,{"z":false}]]'`,
      7: `'{}', '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":[[[[[[1]]]]]]}}}}}}}}}}}'`,
      8: `'-1.5e-400', '-1.5e-400'`,
    },
    expected: {
      1: {
        j: { b: 2, a: 3 },
        jb: {
          ü: 'ünï',
          nested: {
            deep: [true, 'x', '9007199254740993', '1.0000000000000000001', `1${'0'.repeat(400)}`],
          },
        },
      },
      2: { j: [], jb: [1, 2, 3] },
      3: { j: 'text', jb: 'text with "quotes" ✓' },
      4: { j: 42, jb: '12345678901234567890123456789' },
      // A JSON null in the column is a null value, like SQL NULL (docs/values.md).
      5: { j: null, jb: null },
      6: { j: true, jb: [{ a: 1 }, { a: 'x' }, [1, 'mixed', null, { z: false }]] },
      7: {
        j: {},
        jb: {
          a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: [[[[[[1]]]]]] } } } } } } } } } },
        },
      },
      8: { j: '-1.5e-400', jb: `-0.${'0'.repeat(399)}15` },
    },
  },
  {
    name: 'arrays',
    columns:
      'ai integer[], at text[], ats timestamp[], atz timestamptz[], an numeric[], ajb jsonb[], au uuid[], ad date[], ab boolean[], af double precision[], aby bytea[], ae kitchen_mood[]',
    rows: {
      1: `'{1,2,3}', '{"a","b c","","NULL",null}', '{"2024-01-02 03:04:05.123456",infinity}', '{"2024-01-02 03:04:05.123456+00",infinity}', '{1.5,12345678901234567890.5}', array['{"a":1}'::jsonb, '[1,2]', '"s"', '3'], '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}', '{2024-01-02,infinity,-infinity,12345-06-07}', '{t,f,null}', '{1.5,NaN,Infinity,-Infinity}', '{"\\\\x00ff",null}', '{sad,"Ünïcode mood"}'`,
      2: `'{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'`,
    },
    expected: {
      1: {
        ai: [1, 2, 3],
        at: ['a', 'b c', '', 'NULL', null],
        ats: ['2024-01-02T03:04:05.123456', 'infinity'],
        atz: ['2024-01-02T03:04:05.123456Z', 'infinity'],
        an: ['1.5', '12345678901234567890.5'],
        ajb: [{ a: 1 }, [1, 2], 's', 3],
        au: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
        ad: ['2024-01-02', 'infinity', '-infinity', '+12345-06-07'],
        ab: [true, false, null],
        af: [1.5, 'NaN', 'Infinity', '-Infinity'],
        aby: ['AP8=', null],
        ae: ['sad', 'Ünïcode mood'],
      },
      2: {
        ai: [],
        at: [],
        ats: [],
        atz: [],
        an: [],
        ajb: [],
        au: [],
        ad: [],
        ab: [],
        af: [],
        aby: [],
        ae: [],
      },
    },
  },
  {
    name: 'other',
    columns:
      'ip inet, cidr_ cidr, mac macaddr, mac8 macaddr8, pt point, bt bit(5), vb varbit, r4 int4range, r8 int8range, rn numrange, rd daterange, rts tsrange, rtz tstzrange, bx box',
    rows: {
      1: `'192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '(1e-7,123456789012345678)', B'10101', B'1101', '[1,10)', '[-9223372036854775808,9223372036854775807)', '(1.5,2.5]', '[2024-01-01,2024-02-01)', '[2024-01-02 03:04:05.123456,2024-01-03)', '[2024-01-02 03:04:05.123456+00,)', '(1,1),(0,0)'`,
      2: `'::1', '::/0', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '(-0,0)', B'00000', B'', 'empty', '(,)', '(,)', '[2024-01-01,)', '(,2024-01-01)', 'empty', null`,
    },
    expected: {
      1: {
        ip: '192.168.1.5/24',
        cidr_: '10.0.0.0/8',
        mac: '08:00:2b:01:02:03',
        mac8: '08:00:2b:01:02:03:04:05',
        pt: '(1e-07,1.2345678901234568e+17)',
        bt: '10101',
        vb: '1101',
        r4: '[1,10)',
        r8: '[-9223372036854775808,9223372036854775807)',
        rn: '(1.5,2.5]',
        rd: '[2024-01-01,2024-02-01)',
        rts: '["2024-01-02 03:04:05.123456","2024-01-03 00:00:00")',
        rtz: '["2024-01-02 03:04:05.123456+00",)',
      },
      2: {
        ip: '::1',
        cidr_: '::/0',
        mac: 'ff:ff:ff:ff:ff:ff',
        mac8: 'ff:ff:ff:ff:ff:ff:ff:ff',
        pt: '(-0,0)',
        bt: '00000',
        vb: '',
        r4: 'empty',
        r8: '(,)',
        rn: '(,)',
        rd: '[2024-01-01,)',
        rts: '(,"2024-01-01 00:00:00")',
        rtz: 'empty',
      },
    },
  },
];

function columnNames(columns: string): string[] {
  // Commas inside a type's parentheses (`numeric(40,20)`) do not separate columns.
  return columns.split(/,(?![^(]*\))/).map((c) => c.trim().split(/\s+/)[0]);
}

/** The full expected document: every column, NULL where the row leaves it out. */
function expectedDocument(spec: ClassTable, id: number, rev = 0): Record<string, Json> {
  const doc: Record<string, Json> = { id, rev };
  for (const column of columnNames(spec.columns)) doc[column] = null;
  return { ...doc, ...spec.expected[id] };
}

// Debezium 3.6 has no converter for these: the column is left out of every event.
const NOT_DELIVERED = new Set(['bx']);

async function documentOf(table: string, id: number | string) {
  return stackApi<{ source: Record<string, Json> }>(`/v1/tables/${table}/documents/${id}`);
}

/** The document once the change with `rev` has been applied. */
async function served(table: string, id: number, rev = 0) {
  const last = await eventually(
    () => documentOf(table, id),
    (r) => r.status === 200 && r.body.source.rev === rev,
    { what: `${table}/${id} rev ${rev} served`, timeoutMs: 90_000 },
  );
  return last.body.source;
}

describe('kitchen sink: every type at its edges, served exactly', () => {
  let db: Client;
  const created: string[] = [];
  const tables: { spec: ClassTable; table: string; identity: string }[] = [];

  beforeAll(async () => {
    db = await database();
    for (const extension of ['hstore', 'citext', 'ltree'])
      await db.query(`create extension if not exists ${extension}`);
    // Types shared by the class tables; created once per database, never dropped (others may use them).
    await db.query(`do $$ begin
      create type kitchen_mood as enum ('sad', 'ok', 'happy', 'Ünïcode mood');
      exception when duplicate_object then null; end $$`);
    await db.query(`do $$ begin create domain kitchen_posint as integer check (value > 0);
      exception when duplicate_object then null; end $$`);
    await db.query(`do $$ begin create domain kitchen_text as text;
      exception when duplicate_object then null; end $$`);
    await db.query(`do $$ begin create domain kitchen_price as numeric(12,2);
      exception when duplicate_object then null; end $$`);
    for (const spec of CLASSES) {
      for (const identity of ['default', 'full']) {
        const table = uniqueTable(`ks_${spec.name}_${identity}`);
        await db.query(
          `create table ${table} (id int primary key, rev int not null default 0, ${spec.columns})`,
        );
        await db.query(`alter table ${table} replica identity ${identity}`);
        created.push(table);
        tables.push({ spec, table, identity });
      }
    }
    // After every table exists, so each is captured from its first row.
    for (const { spec, table } of tables) {
      for (const [id, values] of Object.entries(spec.rows))
        await db.query(`insert into ${table} values (${id}, 0, ${values})`);
    }
  }, 120_000);

  afterAll(async () => {
    for (const table of created) await db.query(`drop table if exists ${table}`);
    await db.end();
  });

  for (const spec of CLASSES) {
    for (const identity of ['default', 'full']) {
      it(`serves every ${spec.name} row exactly (REPLICA IDENTITY ${identity.toUpperCase()})`, async () => {
        const { table } = tables.find((t) => t.spec === spec && t.identity === identity)!;
        const ids = Object.keys(spec.rows).map(Number);
        for (const rev of [0, 1]) {
          // rev 1: an update of another column re-sends every row, through the identity's path.
          if (rev === 1) await db.query(`update ${table} set rev = 1`);
          for (const id of ids) {
            const expected = expectedDocument(spec, id, rev);
            for (const column of NOT_DELIVERED) delete expected[column];
            expect({ id, source: await served(table, id, rev) }).toEqual({ id, source: expected });
          }
        }
      }, 120_000);
    }
  }

  it('keeps TOASTed text, bytea, jsonb and array values through updates of other columns', async () => {
    for (const identity of ['default', 'full']) {
      const table = uniqueTable(`ks_toast_${identity}`);
      created.push(table);
      await db.query(`create table ${table} (id int primary key, rev int, t text, b bytea, j jsonb,
        ai int[], at text[], ad date[], hs hstore, x xml)`);
      await db.query(`alter table ${table} replica identity ${identity}`);
      // md5 chains do not compress: every value is stored out of line.
      await db.query(`insert into ${table}
        select 1, 0, r, decode(r, 'hex'), jsonb_build_object('k', r, 'n', 9007199254740993),
          (select array_agg(g * 7919) from generate_series(1, 5000) g), array[r, 'x'],
          (select array_agg(date '2000-01-01' + g) from generate_series(1, 3000) g), hstore('k', r),
          xmlelement(name a, r)
        from (select string_agg(md5(g::text), '') r from generate_series(1, 400) g) s`);
      const { rows } = await db.query<Record<string, Json>>(`select
        t, replace(encode(b, 'base64'), E'\\n', '') b, j, array_to_json(ai) ai, array_to_json(at) at,
        array_to_json(ad) ad, hs::text hs, x::text x from ${table}`);
      const stored = rows[0];
      // The driver parses jsonb through a double; the document keeps the digits.
      const j = { k: (stored.j as Record<string, Json>).k, n: '9007199254740993' };
      expect(await served(table, 1, 0)).toEqual({ id: 1, rev: 0, ...stored, j });
      for (const rev of [1, 2]) {
        await db.query(`update ${table} set rev = $1 where id = 1`, [rev]);
        expect({ identity, source: await served(table, 1, rev) }).toEqual({
          identity,
          source: { id: 1, rev, ...stored, j },
        });
      }
    }
  }, 180_000);

  it('filters timestamps exactly at a microsecond boundary, and sorts them', async () => {
    const table = uniqueTable('ks_micros');
    created.push(table);
    await db.query(`create table ${table} (id int primary key, ts timestamp, tz timestamptz)`);
    // Ids run against time within one millisecond, so an id tie-break cannot pass for exactness.
    const values = [
      '1969-12-31 23:59:59.999999',
      '2024-01-02 03:04:05.122999',
      '2024-01-02 03:04:05.123457',
      '2024-01-02 03:04:05.123456',
      '2024-01-02 03:04:05.123455',
      '2024-01-02 03:04:05.124',
      '0044-03-15 10:11:12.654321 BC',
      'infinity',
    ];
    for (const [i, value] of values.entries())
      await db.query(`insert into ${table} values ($1, $2, $3)`, [
        i + 1,
        value,
        value === 'infinity' ? value : `${value}+00`.replace(' BC+00', '+00 BC'),
      ]);
    await eventually(
      () => stackApi<{ total: number }>(`/v1/tables/${table}/search?size=1`),
      (r) => r.status === 200 && r.body.total === values.length,
      { what: `${table} indexed`, timeoutMs: 90_000 },
    );
    const ids = async (filter: string) => {
      const page = await stackApi<{ hits: { id: string }[] }>(
        `/v1/tables/${table}/search?size=50&filter=${encodeURIComponent(filter)}`,
      );
      expect(page.status).toBe(200);
      return page.body.hits.map((h) => Number(h.id)).sort((a, b) => a - b);
    };
    // As in PostgreSQL, infinity (8) is after every instant.
    expect(await ids('ts:gte:2024-01-02T03:04:05.123456')).toEqual([3, 4, 6, 8]);
    expect(await ids('ts:gt:2024-01-02T03:04:05.123456')).toEqual([3, 6, 8]);
    expect(await ids('ts:lt:2024-01-02T03:04:05.123456')).toEqual([1, 2, 5, 7]);
    expect(await ids('ts:lte:2024-01-02T03:04:05.123')).toEqual([1, 2, 7]);
    expect(await ids('tz:gte:2024-01-02T03:04:05.123456Z')).toEqual([3, 4, 6, 8]);
    expect(await ids('tz:lt:2024-01-02T05:04:05.123456+02:00')).toEqual([1, 2, 5, 7]);
    const sorted = await stackApi<{ hits: { id: string }[] }>(
      `/v1/tables/${table}/search?size=50&sort=ts:asc&filter=${encodeURIComponent('ts:gte:2024-01-01T00:00:00')}&filter=${encodeURIComponent('ts:lt:2025-01-01T00:00:00')}`,
    );
    expect(sorted.body.hits.map((h) => Number(h.id))).toEqual([2, 5, 4, 3, 6]);
  }, 120_000);

  it('finds a uuid whatever the case of the filter', async () => {
    const { table } = tables.find((t) => t.spec.name === 'strings' && t.identity === 'default')!;
    await served(table, 1, 1);
    for (const value of [
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ]) {
      const page = await stackApi<{ hits: { id: string }[] }>(
        `/v1/tables/${table}/search?filter=${encodeURIComponent(`u:eq:${value}`)}`,
      );
      expect({ value, status: page.status, ids: page.body.hits?.map((h) => h.id) }).toEqual({
        value,
        status: 200,
        ids: ['1'],
      });
    }
  });

  it('verify finds no drift in any class table', async () => {
    for (const { table } of tables) {
      const result = await admin<{
        rows: number;
        documents: number;
        missingTotal: number;
        extraTotal: number;
        mismatchedTotal: number;
        mismatchedColumns: Record<string, number>;
      }>('POST', `/v1/tables/${table}/verify`);
      expect({ table, status: result.status, body: result.body }).toMatchObject({
        table,
        status: 200,
        body: { missingTotal: 0, extraTotal: 0, mismatchedTotal: 0 },
      });
      // Compared, not skipped: every row of the table was there to compare.
      expect(result.body.rows).toBeGreaterThan(0);
      expect(result.body.documents).toBe(result.body.rows);
    }
  }, 180_000);
});
