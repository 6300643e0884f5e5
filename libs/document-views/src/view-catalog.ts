import type { ViewConfig, ViewRelationConfig } from '@searchsync/config';
import {
  catalogTables,
  columnCatalogSql,
  STORED_GENERATED_REASON,
  VIRTUAL_GENERATED_REASON,
  type CatalogColumn,
  type ColumnCatalogRow,
} from '@searchsync/change-events';
import type { PoolClient } from 'pg';

/**
 * The part of the PostgreSQL catalogue a view is planned against: for each table it draws on,
 * its columns (as the indexer's conversion needs them), primary key and foreign keys. Read once
 * (readViewCatalog) and handed to planView, which is pure.
 *
 * Columns come from libs/change-events' column catalogue, the one the admin's verify and tables
 * API read too; foreign keys are added here.
 */

/** A column as the table documents see it (libs/change-events column-catalog). */
export type ViewCatalogColumn = CatalogColumn;

export interface ViewCatalogForeignKey {
  /** The constraint's name. */
  name: string;
  /** Columns of the referencing table, in constraint order. */
  columns: string[];
  /** `schema.table` of the referenced table. */
  references: string;
  /** Referenced columns, position by position with `columns`. */
  referencedColumns: string[];
}

export interface ViewCatalogTable {
  schema: string;
  table: string;
  /** In column order. */
  columns: ViewCatalogColumn[];
  /** Primary-key columns in key order; empty when the table has none. */
  primaryKey: string[];
  /** Foreign keys of this table (the referencing side). */
  foreignKeys: ViewCatalogForeignKey[];
}

/** Tables by `schema.table`. */
export type ViewCatalog = ReadonlyMap<string, ViewCatalogTable>;

export {
  STORED_GENERATED_REASON as STORED_GENERATED_NOT_REPLICATED,
  VIRTUAL_GENERATED_REASON as VIRTUAL_GENERATED_NOT_REPLICATED,
};

/** `schema.table` of a reference; a bare name means schema `public`. */
export function qualifiedTableName(reference: string): string {
  return reference.includes('.') ? reference : `public.${reference}`;
}

/** `{ schema, table }` of a `schema.table` reference (a bare name means schema `public`). */
export function splitTableName(reference: string): { schema: string; table: string } {
  const name = qualifiedTableName(reference);
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Every table the view draws on (root, embedded, join tables), `schema.table`, once each. */
export function viewTables(view: ViewConfig): string[] {
  const tables = new Set<string>([qualifiedTableName(view.root)]);
  const visit = (relations: ViewRelationConfig[]) => {
    for (const relation of relations) {
      tables.add(qualifiedTableName(relation.table));
      if (relation.join.kind === 'through') tables.add(qualifiedTableName(relation.join.table));
      visit(relation.embed);
    }
  };
  visit(view.embed);
  return [...tables];
}

interface ForeignKeyRow {
  schema: string;
  table: string;
  name: string;
  columns: string[];
  ref_schema: string;
  ref_table: string;
  ref_columns: string[];
}

/** The tables asked for, by schema and name (plain and partitioned tables). */
const TABLES_SQL = `
  select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p')
     and (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))`;

const COLUMNS_SQL = columnCatalogSql(TABLES_SQL);

// conparentid = 0: a foreign key to a partitioned table is also recorded once per partition.
const FOREIGN_KEYS_SQL = `
  with rel as (${TABLES_SQL})
  select n.nspname as schema, c.relname as table, k.conname as name,
         array(select a.attname from unnest(k.conkey) with ordinality u(attnum, i)
                 join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
                order by u.i)::text[] as columns,
         rn.nspname as ref_schema, rc.relname as ref_table,
         array(select a.attname from unnest(k.confkey) with ordinality u(attnum, i)
                 join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum
                order by u.i)::text[] as ref_columns
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_class rc on rc.oid = k.confrelid
    join pg_namespace rn on rn.oid = rc.relnamespace
   where k.contype = 'f' and k.conparentid = 0 and k.conrelid in (select oid from rel)
   order by n.nspname, c.relname, k.conname`;

export interface ViewCatalogOptions {
  /**
   * True when the publication carries stored generated columns (PostgreSQL 18+ with
   * publish_generated_columns = stored): they are then in table documents, so in views too.
   */
  storedGeneratedReplicated?: boolean;
}

/** Reads the tables (`schema.table`) from the catalogue; tables that do not exist are absent. */
export async function readViewCatalog(
  db: Pick<PoolClient, 'query'>,
  tables: string[],
  options: ViewCatalogOptions = {},
): Promise<ViewCatalog> {
  const names = tables.map(splitTableName);
  const params = [names.map((n) => n.schema), names.map((n) => n.table)];
  const [columns, foreignKeys] = await Promise.all([
    db.query<ColumnCatalogRow>(COLUMNS_SQL, params),
    db.query<ForeignKeyRow>(FOREIGN_KEYS_SQL, params),
  ]);
  const catalog = new Map<string, ViewCatalogTable>(
    catalogTables(columns.rows, options.storedGeneratedReplicated ?? false).map((table) => [
      `${table.schema}.${table.table}`,
      { ...table, foreignKeys: [] },
    ]),
  );
  for (const row of foreignKeys.rows) {
    catalog.get(`${row.schema}.${row.table}`)?.foreignKeys.push({
      name: row.name,
      columns: row.columns,
      references: `${row.ref_schema}.${row.ref_table}`,
      referencedColumns: row.ref_columns,
    });
  }
  return catalog;
}
