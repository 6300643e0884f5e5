import { affectedRoots, affectedRootsQuery } from './affected-roots';
import { planView } from './view-plan';
import { fk, column, relation, shopCatalog, shopView, tagsRelation } from './view-plan.fixtures';

const P1 = '00000000-0000-0000-0000-0000000000a1';
const plan = planView(shopView(), shopCatalog());

describe('affectedRootsQuery', () => {
  it('walks from the table up to the root by keys', () => {
    const query = affectedRootsQuery(plan, 'shop.products');
    expect(query?.occurrences).toEqual([{ path: ['lines', 'product'], as: 'node' }]);
    expect(query?.text).toBe(
      'with k as (select * from unnest($1::uuid[]) as k(k0)) ' +
        'select distinct t0."id"::text as r0 from "shop"."orders" t0 ' +
        'join "shop"."order_lines" t2 on t2."order_id" = t0."id" ' +
        'join "shop"."products" t3 on t3."id" = t2."product_id" ' +
        'where (t3."id") in (select * from k)',
    );
  });

  it('walks through the join table, for its own rows and for the rows it joins', () => {
    const joinRows = affectedRootsQuery(plan, 'shop.product_tags');
    expect(joinRows?.occurrences).toEqual([{ path: ['lines', 'product', 'tags'], as: 'join' }]);
    expect(joinRows?.text).toContain('unnest($1::uuid[], $2::int4[]) as k(k0, k1)');
    expect(joinRows?.text).toContain(
      'join "shop"."product_tags" j4 on j4."product_id" = t3."id" join "shop"."tags" t4 on t4."id" = j4."tag_id" where (j4."product_id", j4."tag_id") in (select * from k)',
    );
    expect(joinRows?.parameters([[P1, '3']])).toEqual([[P1], ['3']]);
    expect(affectedRootsQuery(plan, 'shop.tags')?.text).toContain(
      'where (t4."id") in (select * from k)',
    );
  });

  it('finds the root itself, and the composite key of a one relation', () => {
    expect(affectedRootsQuery(plan, 'shop.orders')?.text).toBe(
      'with k as (select * from unnest($1::int8[]) as k(k0)) select distinct t0."id"::text as r0 from "shop"."orders" t0 where (t0."id") in (select * from k)',
    );
    expect(affectedRootsQuery(plan, 'shop.customers')?.text).toContain(
      'join "shop"."customers" t1 on t1."tenant" = t0."tenant" and t1."id" = t0."customer_id" where (t1."tenant", t1."id") in (select * from k)',
    );
  });

  it('unites every place a table takes in the view', () => {
    const catalog = shopCatalog();
    const orders = catalog.get('shop.orders')!;
    orders.columns.push(column('gift_id', 'uuid'));
    orders.foreignKeys.push(fk(['gift_id'], 'shop.products', ['id']));
    const [customer, lines] = shopView().embed;
    const view = shopView([
      customer,
      lines,
      relation(
        'gift',
        'shop.products',
        { kind: 'one', parentColumns: ['gift_id'] },
        { embed: [tagsRelation()] },
      ),
    ]);
    const query = affectedRootsQuery(planView(view, catalog), 'products');
    expect(query).toBeNull(); // a bare name is public.products
    const both = affectedRootsQuery(planView(view, catalog), 'shop.product_tags');
    expect(both?.occurrences).toEqual([
      { path: ['lines', 'product', 'tags'], as: 'join' },
      { path: ['gift', 'tags'], as: 'join' },
    ]);
    expect(both?.text.split(' union ')).toHaveLength(2);
    expect(both?.text).toContain(
      'join "shop"."products" t5 on t5."id" = t0."gift_id" join "shop"."product_tags" j6 on j6."product_id" = t5."id"',
    );
  });

  it('is null for a table the view does not draw on', () => {
    expect(affectedRootsQuery(plan, 'shop.elsewhere')).toBeNull();
  });
});

describe('affectedRoots', () => {
  it('asks nothing for no keys or a table not in the view', async () => {
    const client = { query: () => Promise.reject(new Error('no query expected')) };
    await expect(affectedRoots(client as never, plan, 'shop.products', [])).resolves.toEqual([]);
    await expect(affectedRoots(client as never, plan, 'shop.x', [['1']])).resolves.toEqual([]);
  });
});
