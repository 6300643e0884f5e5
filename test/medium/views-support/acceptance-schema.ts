import {
  documentId,
  quoteIdent,
  ROW_SESSION_SETTINGS,
  rowColumnPlan,
  rowDocumentValue,
  wireExpression,
  type DocumentValue,
  type RowColumnPlan,
} from '@searchsync/change-events';
import type { SearchsyncConfig, ViewConfig } from '@searchsync/config';
import { readViewCatalog, viewRef } from '@searchsync/document-views';
import type { Client } from 'pg';

/**
 * The acceptance schema of issue #11: orders → customer (n:1, composite key, NULL foreign keys),
 * order lines (1:n, composite key) → product (n:1) → tags (n:m through product_tags), with
 * numeric, timestamptz, jsonb, text[], bytea and uuid values — and the expected view documents
 * computed apart from the library: one plain SELECT per table, assembled in TS by hand-written
 * joins.
 *
 * The medium tier gives it a schema of its own (`schemaSql('views_ab12')`: `views_ab12.orders`,
 * …); the end-to-end tier cannot, as Debezium captures only schema `public` there, so it gives a
 * prefix instead (`{ schema: 'public', prefix: 'e2e_views_x_' }`: `public.e2e_views_x_orders`, …).
 */

export const P1 = '00000000-0000-0000-0000-0000000000a1';
export const P2 = '00000000-0000-0000-0000-0000000000a2';
export const P3 = '00000000-0000-0000-0000-0000000000a3';
export const P4 = '00000000-0000-0000-0000-0000000000a4';
export const P5 = '00000000-0000-0000-0000-0000000000a5';

/** Where the acceptance tables are: a schema, and what every table name starts with. */
export interface AcceptanceTables {
  schema: string;
  /** `''` (the default): the tables are `customers`, `orders`, … */
  prefix?: string;
}

/** A schema name alone means tables without a prefix in that schema. */
export type AcceptanceWhere = string | AcceptanceTables;

export const ACCEPTANCE_TABLES = [
  'customers',
  'orders',
  'products',
  'order_lines',
  'tags',
  'product_tags',
] as const;
export type AcceptanceTable = (typeof ACCEPTANCE_TABLES)[number];

export interface AcceptanceNames {
  schema: string;
  /** The table's name in its schema (`e2e_views_x_orders`). */
  name: (table: AcceptanceTable) => string;
  /** `schema.table`, as the configuration, the catalogue and refs name it. */
  qualified: (table: AcceptanceTable) => string;
  /** Quoted for SQL. */
  sql: Record<AcceptanceTable, string>;
}

export function acceptanceNames(where: AcceptanceWhere): AcceptanceNames {
  const { schema, prefix = '' } = typeof where === 'string' ? { schema: where } : where;
  const name = (table: AcceptanceTable) => `${prefix}${table}`;
  const sql = Object.fromEntries(
    ACCEPTANCE_TABLES.map((table) => [table, `${quoteIdent(schema)}.${quoteIdent(name(table))}`]),
  ) as Record<AcceptanceTable, string>;
  return { schema, name, qualified: (table) => `${schema}.${name(table)}`, sql };
}

export function schemaSql(where: AcceptanceWhere): string {
  const { schema, sql: t } = acceptanceNames(where);
  // `if not exists`: with a prefix the tables go into an existing schema (public).
  return `
    create schema if not exists ${quoteIdent(schema)};
    create table ${t.customers} (
      tenant int, id int, name text not null, vip boolean, since date, primary key (tenant, id));
    create table ${t.orders} (
      id bigint primary key, tenant int not null, customer_id int, status text,
      placed_at timestamptz, total numeric(12,2), meta jsonb, notes text[], secret text,
      foreign key (tenant, customer_id) references ${t.customers} (tenant, id));
    create table ${t.products} (
      id uuid primary key, name text, price numeric(10,2), photo bytea, attrs jsonb, internal text);
    create table ${t.order_lines} (
      order_id bigint references ${t.orders} on delete cascade on update cascade, line_no int,
      product_id uuid references ${t.products}, qty int, primary key (order_id, line_no));
    create index on ${t.order_lines} (product_id);
    create table ${t.tags} (id int primary key, label text);
    create table ${t.product_tags} (
      product_id uuid references ${t.products}, tag_id int references ${t.tags},
      primary key (product_id, tag_id));
    create index on ${t.product_tags} (tag_id);

    insert into ${t.customers} values
      (1, 10, 'Ada', true, '2020-01-31'), (1, 11, 'Bob', false, null), (2, 10, 'Cy', null, null);
    insert into ${t.products} values
      ('${P1}', 'Lamp', 19.90, '\\xdeadbeef', '{"color": "red", "watts": 40}', 'x'),
      ('${P2}', 'Desk', 120.00, null, null, 'y'),
      ('${P3}', 'Pen', 1.5, '\\x', '[1, "two", null]', 'z');
    insert into ${t.tags} values (1, 'home'), (2, 'office'), (3, 'sale');
    insert into ${t.product_tags} values ('${P1}', 1), ('${P1}', 3), ('${P2}', 2);
    insert into ${t.orders} values
      (100, 1, 10, 'paid', '2024-05-01 10:00:00.123456+02', 139.80,
       '{"gift": true, "n": 1.50}', '{a,"b c",NULL}', 's1'),
      (101, 1, null, 'new', null, null, null, '{}', 's2'),
      (102, 2, 10, 'sent', '1999-12-31 23:59:59+00', 7.50, '"plain"', null, null),
      (103, 1, 11, 'paid', '2024-06-01 00:00:00+00', 19.90, '{}', '{x}', null);
    insert into ${t.order_lines} values
      (100, 1, '${P1}', 2), (100, 2, '${P2}', 1),
      (102, 2, null, 1), (102, 1, '${P3}', 5),
      (103, 1, '${P1}', 1);
  `;
}

/** `drop table` of every acceptance table, for a prefix in a shared schema. */
export function dropTablesSql(where: AcceptanceWhere): string {
  const { sql: t } = acceptanceNames(where);
  return `drop table if exists ${ACCEPTANCE_TABLES.map((table) => t[table]).join(', ')} cascade`;
}

/** orders.secret is excluded by the table configuration; products.internal by the view. */
export function acceptanceConfig(where: AcceptanceWhere): SearchsyncConfig {
  const { qualified } = acceptanceNames(where);
  return {
    files: [],
    views: new Map(),
    locations: new Map(),
    tables: new Map([
      [qualified('orders'), { exclude: ['secret'], include: null, fields: {}, index: {} }],
    ]),
  };
}

/** The columns of products the view embeds: all but `internal`. */
const PRODUCT_COLUMNS = ['id', 'name', 'price', 'photo', 'attrs'];

const at = { file: 'searchsync.yaml', line: 1 };

export function orderView(where: AcceptanceWhere, name = 'order_search'): ViewConfig {
  const { qualified } = acceptanceNames(where);
  return {
    name,
    root: qualified('orders'),
    columns: null,
    location: at,
    embed: [
      {
        field: 'customer',
        table: qualified('customers'),
        join: { kind: 'one', parentColumns: null },
        columns: null,
        embed: [],
        location: at,
      },
      {
        field: 'lines',
        table: qualified('order_lines'),
        join: { kind: 'many', childColumns: null },
        columns: null,
        location: at,
        embed: [
          {
            field: 'product',
            table: qualified('products'),
            join: { kind: 'one', parentColumns: null },
            columns: PRODUCT_COLUMNS,
            location: at,
            embed: [
              {
                field: 'tags',
                table: qualified('tags'),
                join: {
                  kind: 'through',
                  table: qualified('product_tags'),
                  parentColumns: null,
                  childColumns: null,
                },
                columns: null,
                embed: [],
                location: at,
              },
            ],
          },
        ],
      },
    ],
  };
}

/**
 * acceptanceConfig and orderView as searchsync.yaml text (docs/configuration.md): the `tables:`
 * and the `views:` section, each a whole file's text — one file holds both concatenated.
 */
export function acceptanceYaml(
  where: AcceptanceWhere,
  view = 'order_search',
): { tables: string; views: string } {
  const { qualified } = acceptanceNames(where);
  return {
    tables: `tables:
  ${qualified('orders')}:
    exclude: [secret]
`,
    views: `views:
  ${view}:
    root: ${qualified('orders')}
    embed:
      customer: { table: ${qualified('customers')} }
      lines:
        table: ${qualified('order_lines')}
        many: true
        embed:
          product:
            table: ${qualified('products')}
            columns: [${PRODUCT_COLUMNS.join(', ')}]
            embed:
              tags: { table: ${qualified('tags')}, through: ${qualified('product_tags')} }
`,
  };
}

/**
 * Changes to every table of the view, in order, each as one SQL text (several statements are
 * one transaction): insert, update, delete and key change of each table, join rows added and
 * removed, cascades, truncates — of a table the view draws on and of the root.
 */
export function acceptanceChanges(where: AcceptanceWhere): [string, string][] {
  const { sql: t } = acceptanceNames(where);
  return [
    [
      'customers: insert (in no order yet)',
      `insert into ${t.customers} values (1, 12, 'Dee', false, '2021-02-03')`,
    ],
    [
      'orders: insert',
      `insert into ${t.orders} values (104, 1, 12, 'new', '2024-07-01 12:00:00+00', 5.00, '{"k": 1}', '{q}', 's')`,
    ],
    ['order_lines: insert', `insert into ${t.order_lines} values (104, 1, '${P3}', 2)`],
    [
      'products: insert (in no order)',
      `insert into ${t.products} values ('${P4}', 'Mug', 7.25, null, '{}', 'w')`,
    ],
    [
      'order_lines: insert of the new product',
      `insert into ${t.order_lines} values (101, 1, '${P4}', 1)`,
    ],
    ['tags: insert (unused)', `insert into ${t.tags} values (4, 'gift')`],
    [
      'product_tags: join rows added',
      `insert into ${t.product_tags} values ('${P4}', 4), ('${P3}', 2)`,
    ],
    ['customers: update', `update ${t.customers} set name = 'Ada L.' where tenant = 1 and id = 10`],
    ['orders: update', `update ${t.orders} set status = 'sent', total = 150.00 where id = 100`],
    ['orders: another customer', `update ${t.orders} set customer_id = 11 where id = 101`],
    [
      'products: update of a product two orders share',
      `update ${t.products} set name = 'Lamp 2', price = 21.00 where id = '${P1}'`,
    ],
    [
      'order_lines: moved to another product',
      `update ${t.order_lines} set product_id = '${P2}', qty = 3 where order_id = 103 and line_no = 1`,
    ],
    ['tags: update', `update ${t.tags} set label = 'HOME' where id = 1`],
    [
      'orders: key change (cascading to its lines)',
      `update ${t.orders} set id = 200 where id = 102`,
    ],
    [
      'order_lines: key change',
      `update ${t.order_lines} set line_no = 9 where order_id = 100 and line_no = 2`,
    ],
    [
      'customers: key change',
      `update ${t.orders} set customer_id = null where tenant = 1 and customer_id = 11;
       update ${t.customers} set id = 13 where tenant = 1 and id = 11;
       update ${t.orders} set customer_id = 13 where id in (101, 103)`,
    ],
    [
      'products: key change',
      `update ${t.order_lines} set product_id = null where product_id = '${P3}';
       delete from ${t.product_tags} where product_id = '${P3}';
       update ${t.products} set id = '${P5}' where id = '${P3}';
       update ${t.order_lines} set product_id = '${P5}' where (order_id, line_no) in ((200, 1), (104, 1));
       insert into ${t.product_tags} values ('${P5}', 2)`,
    ],
    [
      'tags: key change',
      `delete from ${t.product_tags} where tag_id = 4;
       update ${t.tags} set id = 5 where id = 4;
       insert into ${t.product_tags} values ('${P4}', 5)`,
    ],
    [
      'product_tags: key change (a join row moved to another tag)',
      `update ${t.product_tags} set tag_id = 3 where product_id = '${P2}' and tag_id = 2`,
    ],
    [
      'product_tags: join row removed',
      `delete from ${t.product_tags} where product_id = '${P1}' and tag_id = 3`,
    ],
    [
      'tags: delete (with its join rows)',
      `delete from ${t.product_tags} where tag_id = 1; delete from ${t.tags} where id = 1`,
    ],
    ['order_lines: delete', `delete from ${t.order_lines} where order_id = 100 and line_no = 1`],
    [
      'products: delete (its lines keep no product)',
      `update ${t.order_lines} set product_id = null where product_id = '${P2}';
       delete from ${t.product_tags} where product_id = '${P2}';
       delete from ${t.products} where id = '${P2}'`,
    ],
    [
      'customers: delete',
      `update ${t.orders} set customer_id = null where tenant = 2 and customer_id = 10;
       delete from ${t.customers} where tenant = 2 and id = 10`,
    ],
    ['orders: delete (cascading to its lines)', `delete from ${t.orders} where id = 200`],
    ['product_tags: truncate', `truncate ${t.product_tags}`],
    [
      'product_tags: every product with every tag',
      `insert into ${t.product_tags} select p.id, t.id from ${t.products} p cross join ${t.tags} t`,
    ],
    ['tags: truncate (cascading to product_tags)', `truncate ${t.tags} cascade`],
    [
      'tags and join rows again',
      `insert into ${t.tags} values (1, 'a'), (2, 'b');
       insert into ${t.product_tags} select id, 1 from ${t.products}`,
    ],
    ['order_lines: truncate', `truncate ${t.order_lines}`],
    [
      'a line for every order',
      `insert into ${t.order_lines} select id, 1, '${P1}', 1 from ${t.orders}`,
    ],
    ['products: truncate (cascading to lines and join rows)', `truncate ${t.products} cascade`],
    [
      'products, lines and join rows again',
      `insert into ${t.products} values ('${P1}', 'Lamp', 19.90, '\\xdeadbeef', '{"a": 1}', 'x');
       insert into ${t.order_lines} select id, 1, '${P1}', 1 from ${t.orders};
       insert into ${t.product_tags} values ('${P1}', 2)`,
    ],
    ['customers: truncate (cascading to orders and lines)', `truncate ${t.customers} cascade`],
    [
      'customers, orders and lines again',
      `insert into ${t.customers} values (1, 10, 'Ada', true, null);
       insert into ${t.orders} values (100, 1, 10, 'paid', null, 1.00, null, null, null),
                                      (101, 1, null, 'new', null, null, null, '{}', null);
       insert into ${t.order_lines} values (100, 1, '${P1}', 1), (101, 1, '${P1}', 2)`,
    ],
    [
      'orders: truncate, and an order inserted again in the same batch',
      `truncate ${t.orders} cascade;
       insert into ${t.orders} values (101, 1, 10, 'again', null, null, null, null, null);
       insert into ${t.order_lines} values (101, 1, '${P1}', 1)`,
    ],
  ];
}

type Row = Record<string, DocumentValue>;

/** Every row of a table, the listed columns converted as verify converts them, in key order. */
async function tableRows(
  client: Client,
  names: AcceptanceNames,
  table: AcceptanceTable,
  columns: string[],
  order: string[],
): Promise<Row[]> {
  const catalog = await readViewCatalog(client, [names.qualified(table)]);
  const described = catalog.get(names.qualified(table))?.columns ?? [];
  const plans: RowColumnPlan[] = columns.map((name) => {
    const c = described.find((d) => d.name === name);
    if (!c) throw new Error(`${names.qualified(table)}.${name} not in the catalogue`);
    return rowColumnPlan(c);
  });
  await client.query(ROW_SESSION_SETTINGS);
  const { rows } = await client.query<Record<string, string | null>>(
    `select ${plans.map((p, i) => `${wireExpression(p)} as c${i}`).join(', ')} from ${names.sql[table]} order by ${order.map(quoteIdent).join(', ')}`,
  );
  return rows.map((row) =>
    Object.fromEntries(plans.map((p, i) => [p.name, rowDocumentValue(p, row[`c${i}`])])),
  );
}

export interface ExpectedDocument {
  document: Row;
  refs: string[];
}

/** A join key: the values compared as `===` would (no NULL is ever a key value here). */
const joinKey = (...values: DocumentValue[]) => JSON.stringify(values);

function groupBy(rows: Row[], key: (row: Row) => string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/**
 * The view documents of every order, computed table by table and joined here, by id (through
 * maps: the fan-out has 10,000 orders, lines and products).
 */
export async function expectedDocuments(
  client: Client,
  where: AcceptanceWhere,
): Promise<Map<string, ExpectedDocument>> {
  const names = acceptanceNames(where);
  const orders = await tableRows(
    client,
    names,
    'orders',
    ['id', 'tenant', 'customer_id', 'status', 'placed_at', 'total', 'meta', 'notes'],
    ['id'],
  );
  const customers = await tableRows(
    client,
    names,
    'customers',
    ['tenant', 'id', 'name', 'vip', 'since'],
    ['tenant', 'id'],
  );
  const lines = await tableRows(
    client,
    names,
    'order_lines',
    ['order_id', 'line_no', 'product_id', 'qty'],
    ['order_id', 'line_no'],
  );
  const products = await tableRows(client, names, 'products', PRODUCT_COLUMNS, ['id']);
  const tags = await tableRows(client, names, 'tags', ['id', 'label'], ['id']);
  const productTags = await tableRows(
    client,
    names,
    'product_tags',
    ['product_id', 'tag_id'],
    ['product_id', 'tag_id'],
  );
  const customerByKey = new Map(customers.map((c) => [joinKey(c.tenant, c.id), c]));
  const linesByOrder = groupBy(lines, (l) => joinKey(l.order_id));
  const productById = new Map(products.map((p) => [joinKey(p.id), p]));
  const tagById = new Map(tags.map((t) => [joinKey(t.id), t]));
  // In (product_id, tag_id) order: a product's tags come in tag id order.
  const joinRowsByProduct = groupBy(productTags, (pt) => joinKey(pt.product_id));
  const ref = (table: AcceptanceTable, key: DocumentValue[]) =>
    viewRef(names.qualified(table), documentId(key));
  const out = new Map<string, ExpectedDocument>();
  for (const order of orders) {
    const refs = new Set([ref('orders', [order.id])]);
    const customer = customerByKey.get(joinKey(order.tenant, order.customer_id)) ?? null;
    if (customer) refs.add(ref('customers', [customer.tenant, customer.id]));
    const orderLines = (linesByOrder.get(joinKey(order.id)) ?? []).map((line) => {
      refs.add(ref('order_lines', [line.order_id, line.line_no]));
      const product = productById.get(joinKey(line.product_id)) ?? null;
      if (!product) return { ...line, product: null };
      refs.add(ref('products', [product.id]));
      const joinRows = joinRowsByProduct.get(joinKey(product.id)) ?? [];
      const tagRows: Row[] = [];
      for (const pt of joinRows) {
        refs.add(ref('product_tags', [pt.product_id, pt.tag_id]));
        const tag = tagById.get(joinKey(pt.tag_id));
        if (!tag) continue;
        refs.add(ref('tags', [tag.id]));
        tagRows.push(tag);
      }
      return { ...line, product: { ...product, tags: tagRows } };
    });
    out.set(documentId([order.id]), {
      document: { ...order, customer, lines: orderLines },
      refs: [...refs].sort(),
    });
  }
  return out;
}
