import { Inject, Injectable } from '@nestjs/common';
import {
  catalogTables,
  columnCatalogSql,
  notReplicatedReason,
  type CatalogColumn,
  type CatalogTable,
  type ColumnCatalogRow,
} from '@searchsync/change-events';
import { parseTableReference } from '@searchsync/search-engine';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { AdminBadRequestError, TableNotFoundError } from './admin.errors';
import { publishesGeneratedColumns } from './column-exclusions';
import { Infrastructure } from './infrastructure.service';

export type { CatalogColumn };

export type TableColumns = CatalogTable;

/** A column that is in no document, and why (verify, GET /v1/tables). */
export interface NotReplicatedColumn {
  column: string;
  reason: string;
}

export { notReplicatedReason };

/** The columns of a table that are in no document, in column order. */
export function notReplicatedColumns(columns: CatalogColumn[]): NotReplicatedColumn[] {
  const out: NotReplicatedColumn[] = [];
  for (const column of columns) {
    const reason = notReplicatedReason(column);
    if (reason) out.push({ column: column.name, reason });
  }
  return out;
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
    const { rows } = await this.infra.pool.query<ColumnCatalogRow>(columnCatalogSql(rel), params);
    const storedReplicated = rows.some((r) => r.generated === 's')
      ? await publishesGeneratedColumns(this.infra.pool, this.config.SEARCHSYNC_PUBLICATION)
      : false;
    return catalogTables(rows, storedReplicated);
  }
}
