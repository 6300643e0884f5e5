import type { ConfigLocation, ViewConfig, ViewJoin, ViewRelationConfig } from '@searchsync/config';
import {
  STORED_GENERATED_NOT_REPLICATED,
  type ViewCatalogColumn,
  type ViewCatalogForeignKey,
  type ViewCatalogTable,
} from './view-catalog';

/** Catalogue and configuration builders for the unit tests of this library. */

export const location: ConfigLocation = { file: 'searchsync.yaml', line: 3 };

export function column(
  name: string,
  baseType: string,
  options: Partial<ViewCatalogColumn> = {},
): ViewCatalogColumn {
  const elementType = baseType.startsWith('_') ? baseType.slice(1) : null;
  return {
    name,
    sqlType: elementType ? `${elementType}[]` : baseType,
    typeName: baseType,
    baseType,
    elementType,
    typmod: -1,
    typtype: 'b',
    elementTyptype: elementType ? 'b' : null,
    notReplicated: null,
    ...options,
  };
}

export function table(
  name: string,
  primaryKey: string[],
  columns: ViewCatalogColumn[],
  foreignKeys: ViewCatalogForeignKey[] = [],
): ViewCatalogTable {
  const [schema, tableName] = name.split('.');
  return { schema, table: tableName, columns, primaryKey, foreignKeys };
}

export const fk = (
  columns: string[],
  references: string,
  referencedColumns: string[],
  name = `${references}_${columns.join('_')}_fkey`,
): ViewCatalogForeignKey => ({ name, columns, references, referencedColumns });

export const catalogOf = (...tables: ViewCatalogTable[]): Map<string, ViewCatalogTable> =>
  new Map(tables.map((t) => [`${t.schema}.${t.table}`, t]));

export function relation(
  field: string,
  tableName: string,
  join: ViewJoin,
  options: { columns?: string[]; embed?: ViewRelationConfig[]; line?: number } = {},
): ViewRelationConfig {
  return {
    field,
    table: tableName,
    join,
    columns: options.columns ?? null,
    embed: options.embed ?? [],
    location: { file: location.file, line: options.line ?? location.line + 1 },
  };
}

/** The acceptance shape: orders → customer (n:1), lines (1:n) → product (n:1) → tags (n:m). */
export const shopCatalog = () =>
  catalogOf(
    table(
      'shop.orders',
      ['id'],
      [
        column('id', 'int8'),
        column('tenant', 'int4'),
        column('customer_id', 'int4'),
        column('status', 'text'),
        column('secret', 'text'),
        column('total_gen', 'numeric', { notReplicated: STORED_GENERATED_NOT_REPLICATED }),
        column('shape', 'box'),
      ],
      [fk(['customer_id', 'tenant'], 'shop.customers', ['id', 'tenant'])],
    ),
    table('shop.customers', ['tenant', 'id'], [column('tenant', 'int4'), column('id', 'int4')]),
    table(
      'shop.order_lines',
      ['order_id', 'line_no'],
      [column('order_id', 'int8'), column('line_no', 'int4'), column('product_id', 'uuid')],
      [fk(['order_id'], 'shop.orders', ['id']), fk(['product_id'], 'shop.products', ['id'])],
    ),
    table('shop.products', ['id'], [column('id', 'uuid'), column('name', 'text')]),
    table('shop.tags', ['id'], [column('id', 'int4'), column('label', 'text')]),
    table(
      'shop.product_tags',
      ['product_id', 'tag_id'],
      [column('product_id', 'uuid'), column('tag_id', 'int4')],
      [fk(['product_id'], 'shop.products', ['id']), fk(['tag_id'], 'shop.tags', ['id'])],
    ),
    table('shop.heap', [], [column('a', 'int4')]),
  );

export const tagsRelation = (
  join: Partial<{ parentColumns: string[]; childColumns: string[] }> = {},
) =>
  relation('tags', 'shop.tags', {
    kind: 'through',
    table: 'shop.product_tags',
    parentColumns: join.parentColumns ?? null,
    childColumns: join.childColumns ?? null,
  });

export const shopView = (
  embed?: ViewRelationConfig[],
  columns: string[] | null = null,
): ViewConfig => ({
  name: 'order_search',
  root: 'shop.orders',
  columns,
  location,
  embed: embed ?? [
    relation('customer', 'shop.customers', { kind: 'one', parentColumns: null }),
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
            { embed: [tagsRelation()] },
          ),
        ],
      },
    ),
  ],
});
