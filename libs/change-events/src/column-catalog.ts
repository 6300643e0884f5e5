import { notSentByDebezium } from './row-values';

/**
 * Reading a table's columns from PostgreSQL's catalogue the one way the admin (verify, the
 * tables API) and the document views need them: domains resolved to their base types, array
 * element types, key positions, and whether replication carries the column at all.
 */

export const STORED_GENERATED_REASON =
  'generated column: PostgreSQL replicates generated columns only from version 18, with the publication option publish_generated_columns = stored';
export const VIRTUAL_GENERATED_REASON =
  'virtual generated column: PostgreSQL never replicates virtual generated columns';

/** One row of columnCatalogSql: a column, or (name null) a table without columns. */
export interface ColumnCatalogRow {
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

/**
 * Columns and key positions of the tables `rel` selects (SQL giving the `oid`s of pg_class rows),
 * in column order; a table without columns gives one row whose `name` is null.
 */
export const columnCatalogSql = (rel: string) => `
  with rel as (${rel}),
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

/** A column as the catalogue describes it. */
export interface CatalogColumn {
  name: string;
  /** `format_type` of the column, usable in casts. */
  sqlType: string;
  /** The declared type's own name (a domain's name for a domain column). */
  typeName: string;
  /** Type name with domains resolved to their base type. */
  baseType: string;
  /** Element type name (domains resolved) for arrays, else null. */
  elementType: string | null;
  /** `atttypmod` (the n of bit(n)), -1 when none. */
  typmod: number;
  /** `pg_type.typtype` of the base type: `c` composite, `m` multirange, `e` enum, … */
  typtype: string;
  /** `pg_type.typtype` of the element type (domains resolved) for arrays, else null. */
  elementTyptype: string | null;
  /**
   * Why PostgreSQL's replication does not carry this column, or null when it does: a stored
   * generated column before PostgreSQL 18 (or without the publication's publish_generated_columns),
   * a virtual generated column.
   */
  notReplicated: string | null;
}

export interface CatalogTable {
  schema: string;
  table: string;
  columns: CatalogColumn[];
  /** Key columns in key order; empty for a table without primary key. */
  primaryKey: string[];
}

/**
 * The tables of columnCatalogSql's rows, in their order. `storedGeneratedReplicated`: the
 * publication carries stored generated columns (PostgreSQL 18+, publish_generated_columns).
 */
export function catalogTables(
  rows: readonly ColumnCatalogRow[],
  storedGeneratedReplicated: boolean,
): CatalogTable[] {
  const tables = new Map<string, CatalogTable & { keys: [string, number][] }>();
  for (const row of rows) {
    const name = `${row.schema}.${row.table}`;
    let table = tables.get(name);
    if (!table) {
      table = { schema: row.schema, table: row.table, columns: [], primaryKey: [], keys: [] };
      tables.set(name, table);
    }
    if (row.name === null) continue;
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
          ? VIRTUAL_GENERATED_REASON
          : row.generated === 's' && !storedGeneratedReplicated
            ? STORED_GENERATED_REASON
            : null,
    });
    if (row.key_position !== null) table.keys.push([row.name, row.key_position]);
  }
  return [...tables.values()].map(({ keys, ...table }) => ({
    ...table,
    primaryKey: keys.sort(([, a], [, b]) => a - b).map(([column]) => column),
  }));
}

/** Why a column is in no document, or null when it is: replication or Debezium leaves it out. */
export function notReplicatedReason(column: {
  name: string;
  baseType: string;
  elementType: string | null;
  typmod: number;
  typtype: string;
  notReplicated: string | null;
}): string | null {
  return (
    column.notReplicated ??
    notSentByDebezium({
      name: column.name,
      baseType: column.baseType,
      elementType: column.elementType,
      typmod: column.typmod,
      typtype: column.typtype,
    })
  );
}
