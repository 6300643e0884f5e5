import type { ViewConfig, ViewRelationConfig } from '@searchsync/config';
import type { PoolClient } from 'pg';

/**
 * The part of the PostgreSQL catalogue a view is planned against: for each table it draws on,
 * its columns (as the indexer's conversion needs them), primary key and foreign keys. Read once
 * (readViewCatalog) and handed to planView, which is pure.
 *
 * The column reading follows apps/connector-admin/src/table-catalog.ts (domains resolved, typmod,
 * typtype), with the declared type name and foreign keys added; that app code could use this
 * reader instead of its own.
 */

export interface ViewCatalogColumn {
  name: string;
  /** `format_type` of the column, usable in casts (`numeric(12,2)`, `"s".mood`). */
  sqlType: string;
  /** The declared type's name (a domain's own name), as Debezium names it for the mapping. */
  typeName: string;
  /** Type name with domains resolved, e.g. `int8`, `timestamptz`, `_text`. */
  baseType: string;
  /** Element type name (domains resolved) for arrays, else null. */
  elementType: string | null;
  /** `atttypmod` (the n of bit(n)), -1 when none. */
  typmod: number;
  /** `pg_type.typtype` of the base type: `b` base, `c` composite, `e` enum, `m` multirange, … */
  typtype: string;
  /** `pg_type.typtype` of the element type for arrays (`e` for an enum array), else null. */
  elementTyptype: string | null;
  /**
   * Why PostgreSQL's replication does not carry this column (a generated column it does not
   * publish), or null: such a column is in no table document, so in no view document either.
   */
  notReplicated: string | null;
}

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

export const STORED_GENERATED_NOT_REPLICATED =
  'stored generated column: PostgreSQL replicates generated columns only from version 18, with the publication option publish_generated_columns = stored';
export const VIRTUAL_GENERATED_NOT_REPLICATED =
  'virtual generated column: PostgreSQL never replicates virtual generated columns';

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

interface ColumnRow {
  schema: string;
  table: string;
  name: string | null;
  sql_type: string | null;
  type_name: string | null;
  base_type: string | null;
  element_type: string | null;
  typmod: number | null;
  typtype: string | null;
  element_typtype: string | null;
  generated: string | null;
  key_position: number | null;
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

const COLUMNS_SQL = `
  with rel as (${TABLES_SQL}),
  pk as (
    select k.conrelid, unnest(k.conkey) as attnum, generate_subscripts(k.conkey, 1) as position
      from pg_constraint k where k.conrelid in (select oid from rel) and k.contype = 'p'
  )
  select n.nspname as schema, c.relname as table,
         a.attname as name,
         format_type(a.atttypid, a.atttypmod) as sql_type,
         t.typname as type_name,
         coalesce(bt.typname, t.typname) as base_type,
         coalesce(ebt.typname, et.typname) as element_type,
         a.atttypmod as typmod,
         coalesce(bt.typtype, t.typtype)::text as typtype,
         coalesce(ebt.typtype, et.typtype)::text as element_typtype,
         a.attgenerated::text as generated,
         pk.position as key_position
    from rel
    join pg_class c on c.oid = rel.oid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_type t on t.oid = a.atttypid
    left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
    left join pg_type et on et.oid = (case when coalesce(bt.typcategory, t.typcategory) = 'A'
                                           then coalesce(bt.typelem, t.typelem) end)
    left join pg_type ebt on et.typtype = 'd' and ebt.oid = et.typbasetype
    left join pk on pk.conrelid = a.attrelid and pk.attnum = a.attnum
   order by n.nspname, c.relname, a.attnum`;

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
    db.query<ColumnRow>(COLUMNS_SQL, params),
    db.query<ForeignKeyRow>(FOREIGN_KEYS_SQL, params),
  ]);
  const catalog = new Map<string, ViewCatalogTable & { keyPositions: Map<string, number> }>();
  for (const row of columns.rows) {
    const name = `${row.schema}.${row.table}`;
    let table = catalog.get(name);
    if (!table) {
      table = {
        schema: row.schema,
        table: row.table,
        columns: [],
        primaryKey: [],
        foreignKeys: [],
        keyPositions: new Map(),
      };
      catalog.set(name, table);
    }
    if (row.name === null) continue; // a table without columns
    table.columns.push({
      name: row.name,
      sqlType: row.sql_type ?? 'text',
      typeName: row.type_name ?? 'text',
      baseType: row.base_type ?? 'text',
      elementType: row.element_type,
      typmod: row.typmod ?? -1,
      typtype: row.typtype ?? 'b',
      elementTyptype: row.element_typtype,
      notReplicated:
        row.generated === 'v'
          ? VIRTUAL_GENERATED_NOT_REPLICATED
          : row.generated === 's' && !options.storedGeneratedReplicated
            ? STORED_GENERATED_NOT_REPLICATED
            : null,
    });
    if (row.key_position !== null) table.keyPositions.set(row.name, row.key_position);
  }
  for (const table of catalog.values()) {
    table.primaryKey = [...table.keyPositions]
      .sort(([, a], [, b]) => a - b)
      .map(([column]) => column);
  }
  for (const row of foreignKeys.rows) {
    catalog.get(`${row.schema}.${row.table}`)?.foreignKeys.push({
      name: row.name,
      columns: row.columns,
      references: `${row.ref_schema}.${row.ref_table}`,
      referencedColumns: row.ref_columns,
    });
  }
  return new Map(
    [...catalog].map(([name, { keyPositions: _positions, ...table }]) => [name, table]),
  );
}
