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
 */

export const P1 = '00000000-0000-0000-0000-0000000000a1';
export const P2 = '00000000-0000-0000-0000-0000000000a2';
export const P3 = '00000000-0000-0000-0000-0000000000a3';

export function schemaSql(schema: string): string {
  const s = quoteIdent(schema);
  return `
    create schema ${s};
    create table ${s}.customers (
      tenant int, id int, name text not null, vip boolean, since date, primary key (tenant, id));
    create table ${s}.orders (
      id bigint primary key, tenant int not null, customer_id int, status text,
      placed_at timestamptz, total numeric(12,2), meta jsonb, notes text[], secret text,
      foreign key (tenant, customer_id) references ${s}.customers (tenant, id));
    create table ${s}.products (
      id uuid primary key, name text, price numeric(10,2), photo bytea, attrs jsonb, internal text);
    create table ${s}.order_lines (
      order_id bigint references ${s}.orders on delete cascade on update cascade, line_no int,
      product_id uuid references ${s}.products, qty int, primary key (order_id, line_no));
    create index on ${s}.order_lines (product_id);
    create table ${s}.tags (id int primary key, label text);
    create table ${s}.product_tags (
      product_id uuid references ${s}.products, tag_id int references ${s}.tags,
      primary key (product_id, tag_id));
    create index on ${s}.product_tags (tag_id);

    insert into ${s}.customers values
      (1, 10, 'Ada', true, '2020-01-31'), (1, 11, 'Bob', false, null), (2, 10, 'Cy', null, null);
    insert into ${s}.products values
      ('${P1}', 'Lamp', 19.90, '\\xdeadbeef', '{"color": "red", "watts": 40}', 'x'),
      ('${P2}', 'Desk', 120.00, null, null, 'y'),
      ('${P3}', 'Pen', 1.5, '\\x', '[1, "two", null]', 'z');
    insert into ${s}.tags values (1, 'home'), (2, 'office'), (3, 'sale');
    insert into ${s}.product_tags values ('${P1}', 1), ('${P1}', 3), ('${P2}', 2);
    insert into ${s}.orders values
      (100, 1, 10, 'paid', '2024-05-01 10:00:00.123456+02', 139.80,
       '{"gift": true, "n": 1.50}', '{a,"b c",NULL}', 's1'),
      (101, 1, null, 'new', null, null, null, '{}', 's2'),
      (102, 2, 10, 'sent', '1999-12-31 23:59:59+00', 7.50, '"plain"', null, null),
      (103, 1, 11, 'paid', '2024-06-01 00:00:00+00', 19.90, '{}', '{x}', null);
    insert into ${s}.order_lines values
      (100, 1, '${P1}', 2), (100, 2, '${P2}', 1),
      (102, 2, null, 1), (102, 1, '${P3}', 5),
      (103, 1, '${P1}', 1);
  `;
}

/** orders.secret is excluded by the table configuration; products.internal by the view. */
export function acceptanceConfig(schema: string): SearchsyncConfig {
  return {
    files: [],
    views: new Map(),
    locations: new Map(),
    tables: new Map([
      [`${schema}.orders`, { exclude: ['secret'], include: null, fields: {}, index: {} }],
    ]),
  };
}

const at = { file: 'searchsync.yaml', line: 1 };

export function orderView(schema: string): ViewConfig {
  return {
    name: 'order_search',
    root: `${schema}.orders`,
    columns: null,
    location: at,
    embed: [
      {
        field: 'customer',
        table: `${schema}.customers`,
        join: { kind: 'one', parentColumns: null },
        columns: null,
        embed: [],
        location: at,
      },
      {
        field: 'lines',
        table: `${schema}.order_lines`,
        join: { kind: 'many', childColumns: null },
        columns: null,
        location: at,
        embed: [
          {
            field: 'product',
            table: `${schema}.products`,
            join: { kind: 'one', parentColumns: null },
            columns: ['id', 'name', 'price', 'photo', 'attrs'],
            location: at,
            embed: [
              {
                field: 'tags',
                table: `${schema}.tags`,
                join: {
                  kind: 'through',
                  table: `${schema}.product_tags`,
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

type Row = Record<string, DocumentValue>;

/** Every row of a table, the listed columns converted as verify converts them, in key order. */
async function tableRows(
  client: Client,
  schema: string,
  table: string,
  columns: string[],
  order: string[],
): Promise<Row[]> {
  const catalog = await readViewCatalog(client, [`${schema}.${table}`]);
  const described = catalog.get(`${schema}.${table}`)?.columns ?? [];
  const plans: RowColumnPlan[] = columns.map((name) => {
    const c = described.find((d) => d.name === name);
    if (!c) throw new Error(`${table}.${name} not in the catalogue`);
    return rowColumnPlan(c);
  });
  await client.query(ROW_SESSION_SETTINGS);
  const { rows } = await client.query<Record<string, string | null>>(
    `select ${plans.map((p, i) => `${wireExpression(p)} as c${i}`).join(', ')} from ${quoteIdent(schema)}.${quoteIdent(table)} order by ${order.map(quoteIdent).join(', ')}`,
  );
  return rows.map((row) =>
    Object.fromEntries(plans.map((p, i) => [p.name, rowDocumentValue(p, row[`c${i}`])])),
  );
}

export interface ExpectedDocument {
  document: Row;
  refs: string[];
}

/** The view documents of every order, computed table by table and joined here, by id. */
export async function expectedDocuments(
  client: Client,
  schema: string,
): Promise<Map<string, ExpectedDocument>> {
  const orders = await tableRows(
    client,
    schema,
    'orders',
    ['id', 'tenant', 'customer_id', 'status', 'placed_at', 'total', 'meta', 'notes'],
    ['id'],
  );
  const customers = await tableRows(
    client,
    schema,
    'customers',
    ['tenant', 'id', 'name', 'vip', 'since'],
    ['tenant', 'id'],
  );
  const lines = await tableRows(
    client,
    schema,
    'order_lines',
    ['order_id', 'line_no', 'product_id', 'qty'],
    ['order_id', 'line_no'],
  );
  const products = await tableRows(
    client,
    schema,
    'products',
    ['id', 'name', 'price', 'photo', 'attrs'],
    ['id'],
  );
  const tags = await tableRows(client, schema, 'tags', ['id', 'label'], ['id']);
  const productTags = await tableRows(
    client,
    schema,
    'product_tags',
    ['product_id', 'tag_id'],
    ['product_id', 'tag_id'],
  );
  const ref = (table: string, key: DocumentValue[]) =>
    viewRef(`${schema}.${table}`, documentId(key));
  const out = new Map<string, ExpectedDocument>();
  for (const order of orders) {
    const refs = new Set([ref('orders', [order.id])]);
    const customer =
      customers.find((c) => c.tenant === order.tenant && c.id === order.customer_id) ?? null;
    if (customer) refs.add(ref('customers', [customer.tenant, customer.id]));
    const orderLines = lines
      .filter((l) => l.order_id === order.id)
      .map((line) => {
        refs.add(ref('order_lines', [line.order_id, line.line_no]));
        const product = products.find((p) => p.id === line.product_id) ?? null;
        if (!product) return { ...line, product: null };
        refs.add(ref('products', [product.id]));
        const productTagRows = productTags.filter((pt) => pt.product_id === product.id);
        const tagRows = tags
          .filter((t) => productTagRows.some((pt) => pt.tag_id === t.id))
          .map((t) => {
            refs.add(ref('tags', [t.id]));
            return t;
          });
        for (const pt of productTagRows) refs.add(ref('product_tags', [pt.product_id, pt.tag_id]));
        return { ...line, product: { ...product, tags: tagRows } };
      });
    out.set(documentId([order.id]), {
      document: { ...order, customer, lines: orderLines },
      refs: [...refs].sort(),
    });
  }
  return out;
}
