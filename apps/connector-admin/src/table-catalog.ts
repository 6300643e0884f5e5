import { Inject, Injectable } from '@nestjs/common';
import { parseTableReference } from '@searchsync/search-engine';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { AdminBadRequestError, TableNotFoundError } from './admin.errors';
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
   * generated column before PostgreSQL 18 (or without the publication's publish_generated_columns).
   */
  notReplicated: string | null;
}

export interface TableColumns {
  schema: string;
  table: string;
  columns: CatalogColumn[];
  primaryKey: string[];
}

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
    const { rows } = await this.infra.pool.query<{
      name: string;
      sql_type: string;
      base_type: string;
      element_type: string | null;
      typmod: number;
      typtype: string;
      generated: string;
      key_position: number | null;
    }>(
      `with rel as (
         select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
       ), pk as (
         select unnest(k.conkey) as attnum, generate_subscripts(k.conkey, 1) as position
           from pg_constraint k where k.conrelid = (select oid from rel) and k.contype = 'p'
       )
       select a.attname as name,
              format_type(a.atttypid, a.atttypmod) as sql_type,
              coalesce(bt.typname, t.typname) as base_type,
              coalesce(ebt.typname, et.typname) as element_type,
              a.atttypmod as typmod,
              coalesce(bt.typtype, t.typtype)::text as typtype,
              a.attgenerated::text as generated,
              pk.position as key_position
         from pg_attribute a
         join pg_type t on t.oid = a.atttypid
         left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
         left join pg_type et on et.oid = (case when coalesce(bt.typcategory, t.typcategory) = 'A'
                                                then coalesce(bt.typelem, t.typelem) end)
         left join pg_type ebt on et.typtype = 'd' and ebt.oid = et.typbasetype
         left join pk on pk.attnum = a.attnum
        where a.attrelid = (select oid from rel) and a.attnum > 0 and not a.attisdropped
        order by a.attnum`,
      [name.schema, name.table],
    );
    if (rows.length === 0) throw new TableNotFoundError(reference, 'does not exist');
    const generatedReplicated = rows.some((r) => r.generated === 's')
      ? await this.publishesGeneratedColumns()
      : false;
    const primaryKey = rows
      .filter((r) => r.key_position !== null)
      .sort((a, b) => (a.key_position ?? 0) - (b.key_position ?? 0))
      .map((r) => r.name);
    if (primaryKey.length === 0) {
      throw new AdminBadRequestError(
        `table ${reference} has no primary key: its rows have no document ids (add a primary key, or set message.key.columns)`,
      );
    }
    return {
      ...name,
      columns: rows.map((r) => ({
        name: r.name,
        sqlType: r.sql_type,
        baseType: r.base_type,
        elementType: r.element_type,
        typmod: r.typmod,
        typtype: r.typtype,
        notReplicated:
          r.generated === 's' && !generatedReplicated
            ? 'generated column: PostgreSQL replicates generated columns only from version 18, with the publication option publish_generated_columns = stored'
            : null,
      })),
      primaryKey,
    };
  }

  /** PostgreSQL 18+ sends stored generated columns when the publication says so. */
  private async publishesGeneratedColumns(): Promise<boolean> {
    const { rows } = await this.infra.pool.query<{ version: number }>(
      "select current_setting('server_version_num')::int as version",
    );
    if ((rows[0]?.version ?? 0) < 180000) return false;
    const publication = await this.infra.pool.query<{ stored: boolean }>(
      "select pubgencols::text = 's' as stored from pg_publication where pubname = $1",
      [this.config.SEARCHSYNC_PUBLICATION],
    );
    return publication.rows[0]?.stored ?? false;
  }
}
