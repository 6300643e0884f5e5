import { Inject, Injectable } from '@nestjs/common';
import { notSentByDebezium } from '@searchsync/change-events';
import { parseTableReference } from '@searchsync/search-engine';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { AdminBadRequestError, TableNotFoundError } from './admin.errors';
import {
  publishesGeneratedColumns,
  STORED_GENERATED_REASON,
  VIRTUAL_GENERATED_REASON,
} from './column-exclusions';
import { Infrastructure } from './infrastructure.service';

export interface CatalogColumn {
  name: string;
  /** `format_type` of the column, usable in casts. */
  sqlType: string;
  /** Type name with domains resolved to their base type. */
  baseType: string;
  /** Element type name (domains resolved) for arrays, else null. */
  elementType: string | null;
  /** `atttypmod` (the n of bit(n)), -1 when none. */
  typmod: number;
  /** `pg_type.typtype` of the base type: `c` composite, `m` multirange, `e` enum, … */
  typtype: string;
  /**
   * Why PostgreSQL's replication does not carry this column, or null when it does: a stored
   * generated column before PostgreSQL 18 (or without the publication's publish_generated_columns),
   * a virtual generated column.
   */
  notReplicated: string | null;
}

export interface TableColumns {
  schema: string;
  table: string;
  columns: CatalogColumn[];
  primaryKey: string[];
}

/** A column that is in no document, and why (verify, GET /v1/tables). */
export interface NotReplicatedColumn {
  column: string;
  reason: string;
}

/** Why a column is in no document, or null when it is replicated. */
export function notReplicatedReason(column: CatalogColumn): string | null {
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

/** The columns of a table that are in no document, in column order. */
export function notReplicatedColumns(columns: CatalogColumn[]): NotReplicatedColumn[] {
  const out: NotReplicatedColumn[] = [];
  for (const column of columns) {
    const reason = notReplicatedReason(column);
    if (reason) out.push({ column: column.name, reason });
  }
  return out;
}

interface ColumnRow {
  schema: string;
  table: string;
  name: string;
  sql_type: string;
  base_type: string;
  element_type: string | null;
  typmod: number;
  typtype: string;
  generated: string;
  key_position: number | null;
}

/** Columns and key positions of the root tables `rel` selects (a CTE over pg_class). */
const columnsSql = (rel: string) => `
  with rel as (${rel}),
  pk as (
    select k.conrelid, unnest(k.conkey) as attnum, generate_subscripts(k.conkey, 1) as position
      from pg_constraint k where k.conrelid in (select oid from rel) and k.contype = 'p'
  )
  select n.nspname as schema, c.relname as table,
         a.attname as name,
         format_type(a.atttypid, a.atttypmod) as sql_type,
         coalesce(bt.typname, t.typname) as base_type,
         coalesce(ebt.typname, et.typname) as element_type,
         a.atttypmod as typmod,
         coalesce(bt.typtype, t.typtype)::text as typtype,
         a.attgenerated::text as generated,
         pk.position as key_position
    from pg_attribute a
    join rel on rel.oid = a.attrelid
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_type t on t.oid = a.atttypid
    left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
    left join pg_type et on et.oid = (case when coalesce(bt.typcategory, t.typcategory) = 'A'
                                           then coalesce(bt.typelem, t.typelem) end)
    left join pg_type ebt on et.typtype = 'd' and ebt.oid = et.typbasetype
    left join pk on pk.conrelid = a.attrelid and pk.attnum = a.attnum
   where a.attnum > 0 and not a.attisdropped
   order by n.nspname, c.relname, a.attnum`;

/** Synced tables as PostgreSQL describes them. */
@Injectable()
export class TableCatalog {
  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    private readonly infra: Infrastructure,
  ) {}

  /** `schema.table` or `table` (schema public) of a synced schema, with columns and key. */
  async resolve(reference: string): Promise<TableColumns> {
    const name = parseTableReference(reference);
    if (!this.config.SEARCHSYNC_SCHEMAS.includes(name.schema)) {
      throw new TableNotFoundError(
        reference,
        `is not in a synced schema (${this.config.SEARCHSYNC_SCHEMAS.join(', ')})`,
      );
    }
    const [table] = await this.describe(
      `select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
      [name.schema, name.table],
    );
    if (!table) throw new TableNotFoundError(reference, 'does not exist');
    if (table.primaryKey.length === 0) {
      throw new AdminBadRequestError(
        `table ${reference} has no primary key: its rows have no document ids (add a primary key, or set message.key.columns)`,
      );
    }
    return table;
  }

  /** Every root table of the synced schemas (keyed or not), in one query. */
  all(): Promise<TableColumns[]> {
    return this.describe(
      `select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'p') and not c.relispartition`,
      [this.config.SEARCHSYNC_SCHEMAS],
    );
  }

  private async describe(rel: string, params: unknown[]): Promise<TableColumns[]> {
    const { rows } = await this.infra.pool.query<ColumnRow>(columnsSql(rel), params);
    const storedReplicated = rows.some((r) => r.generated === 's')
      ? await publishesGeneratedColumns(this.infra.pool, this.config.SEARCHSYNC_PUBLICATION)
      : false;
    const tables = new Map<string, { schema: string; table: string; rows: ColumnRow[] }>();
    for (const row of rows) {
      const key = `${row.schema}.${row.table}`;
      const entry = tables.get(key) ?? { schema: row.schema, table: row.table, rows: [] };
      entry.rows.push(row);
      tables.set(key, entry);
    }
    return [...tables.values()].map(({ schema, table, rows: columns }) => ({
      schema,
      table,
      columns: columns.map((r) => ({
        name: r.name,
        sqlType: r.sql_type,
        baseType: r.base_type,
        elementType: r.element_type,
        typmod: r.typmod,
        typtype: r.typtype,
        notReplicated:
          r.generated === 'v'
            ? VIRTUAL_GENERATED_REASON
            : r.generated === 's' && !storedReplicated
              ? STORED_GENERATED_REASON
              : null,
      })),
      primaryKey: columns
        .filter((r) => r.key_position !== null)
        .sort((a, b) => (a.key_position ?? 0) - (b.key_position ?? 0))
        .map((r) => r.name),
    }));
  }
}
