import { ROW_SESSION_SETTINGS } from '@searchsync/change-events';
import {
  XIP_BITS,
  snapshotVersion,
  viewDocumentsFromRows,
  viewDocumentsQuery,
  withRowSession,
  type ViewDocumentsRow,
} from './view-documents';
import { planView } from './view-plan';
import { relation, shopCatalog, shopView } from './view-plan.fixtures';
import { ViewDocumentValueError } from './view.errors';

const P1 = '00000000-0000-0000-0000-0000000000a1';
const plan = planView(shopView(), shopCatalog());

describe('viewDocumentsQuery', () => {
  const { text, parameters } = viewDocumentsQuery(plan);

  it('binds the batch as one array per key column, whatever its size', () => {
    expect(text).toContain(
      'with k as (select * from unnest($1::int8[]) with ordinality as k(k0, ord))',
    );
    expect(text).toContain('left join "shop"."orders" t0 on t0."id" = k."k0"');
    expect(text).toContain('order by k.ord');
    expect(parameters([['7'], ['8']])).toEqual([['7', '8']]);
    const byCustomer = viewDocumentsQuery(
      planView({ ...shopView([]), root: 'shop.customers' }, shopCatalog()),
    );
    expect(byCustomer.text).toContain(
      'unnest($1::int4[], $2::int4[]) with ordinality as k(k0, k1, ord)',
    );
    expect(byCustomer.text).toContain('t0."tenant" = k."k0" and t0."id" = k."k1"');
    expect(
      byCustomer.parameters([
        ['1', '10'],
        ['2', '10'],
      ]),
    ).toEqual([
      ['1', '2'],
      ['10', '10'],
    ]);
    expect(() => byCustomer.parameters([['1']])).toThrow(RangeError);
  });

  it('reads the root columns in wire form and each relation as nested JSON', () => {
    // The requested key in wire form (for the id of a delete), and whether the root exists.
    expect(text).toContain('k."k0"::text as q0, t0."id" is not null as found, t0."id"::text as c0');
    // one: the parent's columns against the key; null when there is no row.
    expect(text).toContain(
      '(select json_build_array(array[t1."tenant"::text, t1."id"::text]::text[], null) from "shop"."customers" t1 where t1."tenant" = t0."tenant" and t1."id" = t0."customer_id") as r0',
    );
    // many: in key order, [] when empty; the nested relations inside the element.
    expect(text).toMatch(
      /coalesce\(\(select json_agg\(json_build_array\(array\[t2\."order_id"::text, t2\."line_no"::text, t2\."product_id"::text\]::text\[\], null, \(select json_build_array\(.* order by t2\."order_id", t2\."line_no"\) from "shop"\."order_lines" t2 where t2\."order_id" = t0\."id"\), '\[\]'::json\) as r1/,
    );
    // through: the join row's key travels with the element (its ref).
    expect(text).toContain(
      `coalesce((select json_agg(json_build_array(array[t4."id"::text, case when t4."label" is null then null else format('%s', t4."label") end]::text[], array[j4."product_id"::text, j4."tag_id"::text]::text[]) order by t4."id", j4."product_id", j4."tag_id") from "shop"."product_tags" j4 join "shop"."tags" t4 on t4."id" = j4."tag_id" where j4."product_id" = t3."id"), '[]'::json)`,
    );
    // The snapshot of the same statement.
    expect(text).toContain(
      'pg_snapshot_xmax(snap.s)::text as xmax, (select count(*) from pg_snapshot_xip(snap.s))::int as xip',
    );
  });
});

describe('snapshotVersion', () => {
  const unit = 1n << BigInt(XIP_BITS);

  it('is xmax · 2^20 plus room for fewer transactions in progress', () => {
    expect(snapshotVersion(1000n, 0)).toBe(1000n * unit + unit - 1n);
    expect(snapshotVersion(1000n, 3)).toBe(1000n * unit + unit - 4n);
    // Capped: more in progress than the bits hold still stays within its xmax.
    expect(snapshotVersion(1000n, 5_000_000)).toBe(1000n * unit);
    expect(snapshotVersion(1000n, 5_000_000)).toBeGreaterThan(snapshotVersion(999n, 0));
  });

  it('grows as transactions finish, and with xmax', () => {
    expect(snapshotVersion(1000n, 4)).toBeLessThan(snapshotVersion(1000n, 3));
    expect(snapshotVersion(1000n, 0)).toBeLessThan(snapshotVersion(1001n, 100));
    // Exact beyond 2^53 (xmax of a busy database).
    expect(snapshotVersion(2n ** 40n, 1)).toBe(2n ** 60n + unit - 2n);
  });
});

describe('viewDocumentsFromRows', () => {
  const version = snapshotVersion(1000n, 2);
  const row = (fields: Record<string, unknown>): ViewDocumentsRow => ({
    ord: '1',
    found: true,
    xmax: '1000',
    xip: 2,
    ...fields,
  });
  const order = row({
    q0: '7',
    c0: '7',
    c1: '1',
    c2: '10',
    c3: 'paid',
    c4: null,
    r0: [['1', '10'], null],
    r1: [
      [
        ['7', '1', P1.toUpperCase()],
        null,
        [
          [P1, 'Lamp'],
          null,
          [
            [
              ['3', 'sale'],
              [P1, '3'],
            ],
          ],
        ],
      ],
      [['7', '2', null], null, null],
    ],
  });

  it('converts every text as the indexer does and lists every row drawn on', () => {
    expect(viewDocumentsFromRows(plan, [order])).toEqual([
      {
        id: '7',
        version,
        deleted: false,
        document: {
          id: 7,
          tenant: 1,
          customer_id: 10,
          status: 'paid',
          secret: null,
          customer: { tenant: 1, id: 10 },
          lines: [
            {
              order_id: 7,
              line_no: 1,
              product_id: P1,
              product: { id: P1, name: 'Lamp', tags: [{ id: 3, label: 'sale' }] },
            },
            { order_id: 7, line_no: 2, product_id: null, product: null },
          ],
        },
        refs: [
          'shop.customers:[1,10]',
          'shop.order_lines:[7,1]',
          'shop.order_lines:[7,2]',
          'shop.orders:7',
          `shop.product_tags:["${P1}",3]`,
          `shop.products:${P1}`,
          'shop.tags:3',
        ],
      },
    ]);
  });

  it('gives a delete, with the requested id, for a root that does not exist', () => {
    const gone = row({ q0: '8', found: false, c0: null, r0: null, r1: [] });
    expect(viewDocumentsFromRows(plan, [gone])).toEqual([{ id: '8', version, deleted: true }]);
  });

  it('gives the conversion error of a refused value, for that document only', () => {
    const bad = row({ ...order, q0: '9', c0: '9', c2: 'not a number' });
    const [failed, fine] = viewDocumentsFromRows(plan, [bad, order]);
    expect(failed).toMatchObject({ id: '9', version, deleted: false });
    const error = (failed as { error: ViewDocumentValueError }).error;
    expect(error).toBeInstanceOf(ViewDocumentValueError);
    expect(error.message).toMatch(/^view order_search: column customer_id of shop.orders \(at 9\)/);
    expect(fine).toMatchObject({ id: '7', deleted: false });
  });

  it('names where in the document a refused value is', () => {
    const bad = row({
      ...order,
      r1: [[['7', 'x', null], null, null]],
    });
    const [failed] = viewDocumentsFromRows(plan, [bad]);
    expect((failed as { error: Error }).error.message).toContain(
      'column line_no of shop.order_lines (at 7.lines.0)',
    );
  });

  it('keeps a field named __proto__ as a field', () => {
    const catalog = shopCatalog();
    catalog.get('shop.tags')?.columns.push({
      ...catalog.get('shop.tags')!.columns[1],
      name: '__proto__',
    });
    const tagPlan = planView({ ...shopView([]), root: 'shop.tags' }, catalog);
    const [result] = viewDocumentsFromRows(tagPlan, [row({ q0: '1', c0: '1', c1: 'a', c2: 'b' })]);
    const document = (result as { document: object }).document;
    expect(Object.getPrototypeOf(document)).toBe(Object.prototype);
    expect(Object.keys(document)).toEqual(['id', 'label', '__proto__']);
  });

  it('puts each relation under its field', () => {
    const twoLevels = planView(
      shopView([relation('customer', 'shop.customers', { kind: 'one', parentColumns: null })]),
      shopCatalog(),
    );
    const [result] = viewDocumentsFromRows(twoLevels, [
      row({ q0: '7', c0: '7', c1: '1', c2: null, c3: null, c4: null, r0: null }),
    ]);
    expect(result).toMatchObject({ document: { id: 7, customer: null }, refs: ['shop.orders:7'] });
  });
});

describe('withRowSession', () => {
  const recorder = () => {
    const queries: string[] = [];
    return {
      queries,
      client: { query: (text: string) => (queries.push(text), Promise.resolve()) },
    };
  };

  it('applies the row settings once around nested work, and resets only those', async () => {
    const { queries, client } = recorder();
    const result = await withRowSession(client as never, () =>
      withRowSession(client as never, () => Promise.resolve(42)),
    );
    expect(result).toBe(42);
    expect(queries).toEqual([
      ROW_SESSION_SETTINGS,
      'reset datestyle; reset intervalstyle; reset timezone; reset extra_float_digits; reset bytea_output',
    ]);
  });

  it('resets them when the work fails', async () => {
    const { queries, client } = recorder();
    await expect(
      withRowSession(client as never, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(queries).toHaveLength(2);
  });
});
