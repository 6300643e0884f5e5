import type { SearchsyncConfig, ViewConfig } from '@searchsync/config';
import { viewTables } from './view-catalog';
import { planView, VIEW_REFS_FIELD } from './view-plan';
import {
  catalogOf,
  column,
  fk,
  relation,
  shopCatalog,
  shopView,
  table,
  tagsRelation,
} from './view-plan.fixtures';
import {
  ViewColumnNotFoundError,
  ViewColumnUnavailableError,
  ViewFieldConflictError,
  ViewJoinInvalidError,
  ViewJoinNotInferredError,
  ViewTableNotFoundError,
  ViewTableWithoutKeyError,
} from './view.errors';

const planOf = (view: ViewConfig, config?: SearchsyncConfig) =>
  planView(view, shopCatalog(), { config });

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing thrown');
};

describe('planView', () => {
  it('resolves every node with its key, columns and joins inferred from the foreign keys', () => {
    const plan = planOf(shopView());
    expect(plan.nodes.map((n) => [n.index, n.path.join('.'), n.kind, n.table.name])).toEqual([
      [0, '', 'root', 'shop.orders'],
      [1, 'customer', 'one', 'shop.customers'],
      [2, 'lines', 'many', 'shop.order_lines'],
      [3, 'lines.product', 'one', 'shop.products'],
      [4, 'lines.product.tags', 'through', 'shop.tags'],
    ]);
    const [root, customer, lines, product, tagNode] = plan.nodes;
    // The foreign key lists (customer_id, tenant) against (id, tenant): in key order it is reversed.
    expect(customer.join).toEqual({ kind: 'one', parentColumns: ['tenant', 'customer_id'] });
    expect(customer.table.key).toEqual(['tenant', 'id']);
    expect(lines.join).toEqual({ kind: 'many', childColumns: ['order_id'] });
    expect(product.join).toEqual({ kind: 'one', parentColumns: ['product_id'] });
    expect(tagNode.join).toMatchObject({
      kind: 'through',
      parentColumns: ['product_id'],
      childColumns: ['tag_id'],
      table: { name: 'shop.product_tags', key: ['product_id', 'tag_id'] },
    });
    // Columns Debezium does not send (box) and generated ones it does not replicate are left out.
    expect(root.columns.map((c) => c.name)).toEqual([
      'id',
      'tenant',
      'customer_id',
      'status',
      'secret',
    ]);
    expect(root.columns[0].plan).toMatchObject({ kind: 'int', array: false });
    expect(plan.tables).toEqual([
      'shop.orders',
      'shop.customers',
      'shop.order_lines',
      'shop.products',
      'shop.tags',
      'shop.product_tags',
    ]);
    expect(new Set(viewTables(shopView()))).toEqual(new Set(plan.tables));
  });

  it('keeps the columns searchsync.yaml excludes out, key columns always in', () => {
    const config: SearchsyncConfig = {
      files: [],
      views: new Map(),
      locations: new Map([['shop.orders', { file: 'searchsync.yaml', line: 2 }]]),
      tables: new Map([
        ['shop.orders', { exclude: ['secret'], include: null, fields: {}, index: {} }],
        ['shop.products', { exclude: [], include: ['name'], fields: {}, index: {} }],
      ]),
    };
    const plan = planOf(shopView(), config);
    expect(plan.root.columns.map((c) => c.name)).toEqual(['id', 'tenant', 'customer_id', 'status']);
    expect(plan.nodes[3].columns.map((c) => c.name)).toEqual(['id', 'name']);
    const error = thrown(() => planOf(shopView(undefined, ['status', 'secret']), config));
    expect(error).toBeInstanceOf(ViewColumnUnavailableError);
    expect(error.message).toBe(
      'searchsync.yaml:3: view order_search: root: column secret of shop.orders cannot be in a document (searchsync.yaml keeps it out of every document (tables.shop.orders at searchsync.yaml:2)): remove it from columns',
    );
  });

  it('embeds the listed columns and the key, in table order', () => {
    const plan = planOf(shopView([], ['status']));
    expect(plan.root.columns.map((c) => c.name)).toEqual(['id', 'status']);
    expect(thrown(() => planOf(shopView([], ['shape'])))).toBeInstanceOf(
      ViewColumnUnavailableError,
    );
  });

  it('names the table and the columns it has for a column it does not have', () => {
    const error = thrown(() => planOf(shopView([], ['statuss'])));
    expect(error).toBeInstanceOf(ViewColumnNotFoundError);
    expect(error.message).toBe(
      'searchsync.yaml:3: view order_search: root: table shop.orders has no column statuss (it has id, tenant, customer_id, status, secret, total_gen, shape)',
    );
  });

  it('refuses tables that do not exist or have no primary key', () => {
    const missing = thrown(() =>
      planOf(shopView([relation('x', 'shop.nope', { kind: 'many', childColumns: ['a'] })])),
    );
    expect(missing).toBeInstanceOf(ViewTableNotFoundError);
    expect(missing.message).toBe(
      'searchsync.yaml:4: view order_search: embed x: table shop.nope does not exist',
    );
    const heap = thrown(() =>
      planOf(shopView([relation('heap', 'shop.heap', { kind: 'many', childColumns: ['a'] })])),
    );
    expect(heap).toBeInstanceOf(ViewTableWithoutKeyError);
    expect(heap.message).toContain('embed heap: table shop.heap has no primary key');
  });

  it('says which on: to write when no foreign key or several match', () => {
    const none = thrown(() =>
      planOf(shopView([relation('tags', 'shop.tags', { kind: 'many', childColumns: null })])),
    );
    expect(none).toBeInstanceOf(ViewJoinNotInferredError);
    expect(none.message).toBe(
      'searchsync.yaml:4: view order_search: embed tags: no foreign key of shop.tags references the primary key of shop.orders (id): write on: <the shop.tags column(s) holding it, in key order>',
    );
    const twice = shopCatalog();
    twice
      .get('shop.order_lines')
      ?.foreignKeys.push(fk(['replaces_order_id'], 'shop.orders', ['id'], 'replaces'));
    const several = thrown(() =>
      planView(
        shopView([relation('lines', 'shop.order_lines', { kind: 'many', childColumns: null })]),
        twice,
      ),
    );
    expect(several.message).toBe(
      'searchsync.yaml:4: view order_search: embed lines: 2 foreign keys of shop.order_lines reference shop.orders: write on: order_id or on: replaces_order_id',
    );
    const composite = thrown(() =>
      planView(
        {
          ...shopView([]),
          root: 'shop.customers',
          embed: [relation('orders', 'shop.orders', { kind: 'one', parentColumns: null })],
        },
        shopCatalog(),
      ),
    );
    expect(composite.message).toContain(
      'no foreign key of shop.customers references the primary key of shop.orders (id)',
    );
  });

  it('names both sides of a through relation it cannot infer', () => {
    const self = shopCatalog();
    self.get('shop.product_tags')?.foreignKeys.push(fk(['tag_id'], 'shop.products', ['id'], 'odd'));
    const view = shopView([
      relation(
        'lines',
        'shop.order_lines',
        { kind: 'many', childColumns: null },
        {
          embed: [
            relation(
              'product',
              'shop.products',
              { kind: 'one', parentColumns: null },
              {
                embed: [tagsRelation()],
              },
            ),
          ],
        },
      ),
    ]);
    // tag_id → products too: the parent side is ambiguous.
    const error = thrown(() => planView(view, self));
    expect(error).toBeInstanceOf(ViewJoinNotInferredError);
    expect(error.message).toBe(
      'searchsync.yaml:4: view order_search: embed lines.product.tags: 2 foreign keys of shop.product_tags reference shop.products (product_id or tag_id): write on: { parent: product_id, child: tag_id }',
    );
  });

  it('takes on: as given, checking the columns exist and match the key', () => {
    const plan = planOf(
      shopView([
        relation('customer', 'shop.customers', {
          kind: 'one',
          parentColumns: ['tenant', 'customer_id'],
        }),
      ]),
    );
    expect(plan.nodes[1].join).toEqual({ kind: 'one', parentColumns: ['tenant', 'customer_id'] });
    const short = thrown(() =>
      planOf(
        shopView([
          relation('customer', 'shop.customers', { kind: 'one', parentColumns: ['customer_id'] }),
        ]),
      ),
    );
    expect(short).toBeInstanceOf(ViewJoinInvalidError);
    expect(short.message).toBe(
      'searchsync.yaml:4: view order_search: embed customer: on names 1 column(s) of shop.orders but the key of shop.customers has 2 (tenant, id): list the shop.orders columns holding it, in key order',
    );
    const unknown = thrown(() =>
      planOf(
        shopView([
          relation('lines', 'shop.order_lines', { kind: 'many', childColumns: ['orderid'] }),
        ]),
      ),
    );
    expect(unknown).toBeInstanceOf(ViewColumnNotFoundError);
    expect(unknown.message).toContain(
      'table shop.order_lines has no column orderid (it has order_id, line_no, product_id)',
    );
  });

  it('infers the other side of a through relation when one is given', () => {
    const self = shopCatalog();
    self.get('shop.product_tags')?.foreignKeys.push(fk(['tag_id'], 'shop.products', ['id'], 'odd'));
    const view = shopView([
      relation(
        'lines',
        'shop.order_lines',
        { kind: 'many', childColumns: null },
        {
          embed: [
            relation(
              'product',
              'shop.products',
              { kind: 'one', parentColumns: null },
              {
                embed: [tagsRelation({ parentColumns: ['product_id'] })],
              },
            ),
          ],
        },
      ),
    ]);
    expect(planView(view, self).nodes[3].join).toMatchObject({
      parentColumns: ['product_id'],
      childColumns: ['tag_id'],
    });
  });

  it('refuses a relation named like a column of its parent, or like the refs field', () => {
    const clash = thrown(() =>
      planOf(
        shopView([relation('status', 'shop.customers', { kind: 'one', parentColumns: null })]),
      ),
    );
    expect(clash).toBeInstanceOf(ViewFieldConflictError);
    expect(clash.message).toContain('shop.orders has a column status in the document');
    const reserved = thrown(() =>
      planOf(
        shopView([
          relation(VIEW_REFS_FIELD, 'shop.customers', { kind: 'one', parentColumns: null }),
        ]),
      ),
    );
    expect(reserved.message).toContain('the name is reserved for the view');
  });

  it('reads a bare table name as schema public', () => {
    const publicCatalog = catalogOf(table('public.t', ['id'], [column('id', 'int4')]));
    const plan = planView({ ...shopView([]), root: 't' }, publicCatalog);
    expect(plan.root.table).toMatchObject({ schema: 'public', table: 't', name: 'public.t' });
  });
});
