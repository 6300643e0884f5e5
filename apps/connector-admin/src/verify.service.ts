import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  documentId,
  quoteIdent,
  ROW_SESSION_SETTINGS,
  rowColumnPlan,
  rowDocumentValue,
  sameDocumentValue,
  wireExpression,
  type DocumentValue,
  type RowColumnPlan,
} from '@searchsync/change-events';
import { excludedColumns, isColumnVisible, tableSettings } from '@searchsync/config';
import { tableIndexNames } from '@searchsync/search-engine';
import type { PoolClient } from 'pg';
import {
  ADMIN_CONFIG,
  TABLE_CONFIG,
  type AdminConfig,
  type SearchsyncConfigWatcher,
} from './admin-config';
import { Infrastructure } from './infrastructure.service';
import { TableNotFoundError } from './admin.errors';
import { finishVerify, startVerify, type VerifyResult } from './verify-result';
import { documentsById, verifyView } from './view-verify';
import {
  notReplicatedReason,
  TableCatalog,
  type NotReplicatedColumn,
  type TableColumns,
} from './table-catalog';

export type { NotReplicatedColumn, VerifyResult };
export { notReplicatedReason };

const BATCH = 1000;
const ident = quoteIdent;

type Column = RowColumnPlan;

/** The row value verify compares, or the conversion's error (then the row counts as mismatched). */
function convertedValue(column: Column, text: string | null): DocumentValue | Error {
  try {
    return rowDocumentValue(column, text);
  } catch (error) {
    return error as Error;
  }
}

/**
 * Compares a table with its index by primary key and content, in two streamed passes with
 * bounded memory: rows (server-side cursor, key order) looked up in the index by id; then
 * documents (scroll) looked up in the table by key.
 */
@Injectable()
export class VerifyService {
  private readonly logger = new Logger(VerifyService.name);

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    private readonly infra: Infrastructure,
    private readonly catalog: TableCatalog,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {}

  /** A table's verify, or a document view's (by its name, when no table has it). */
  async verify(reference: string, limit = 100): Promise<VerifyResult> {
    const began = Date.now();
    let table: TableColumns;
    try {
      table = await this.catalog.resolve(reference);
    } catch (error) {
      const config = this.tableConfig.current();
      const view = config.views.get(reference);
      if (!(error instanceof TableNotFoundError) || !view) throw error;
      const result = await verifyView(
        this.infra.engine,
        this.infra.pool,
        view,
        config,
        this.config.SEARCHSYNC_INDEX_PREFIX,
        limit,
      );
      this.logger.log(
        `verify of view ${view.name}: ${result.rows} roots, ${result.documents} documents, ${result.missingTotal} missing, ${result.extraTotal} extra, ${result.mismatchedTotal} mismatched in ${result.durationMs} ms`,
      );
      return result;
    }
    const alias = tableIndexNames(this.config.SEARCHSYNC_INDEX_PREFIX, table).alias;
    const documents = await this.infra.engine.count(alias).catch(() => 0);
    const settings = tableSettings(this.tableConfig.current(), table);
    const names = table.columns.map((c) => c.name);
    // What must not be in any document: the columns excluded at the source (key columns never are).
    const excluded = excludedColumns(settings, names, table.primaryKey);
    const notReplicated: NotReplicatedColumn[] = [];
    const columns: Column[] = [];
    // Compared: the columns documents show. Read: those, and the key columns whatever the
    // configuration says (they make the ids).
    const compared = new Set<string>();
    for (const column of table.columns) {
      const reason = notReplicatedReason(column);
      const visible = isColumnVisible(settings, column.name);
      if (reason) notReplicated.push({ column: column.name, reason });
      else if (visible || table.primaryKey.includes(column.name)) {
        columns.push(rowColumnPlan(column));
        if (visible) compared.add(column.name);
      }
    }
    const { result, note } = startVerify(`${table.schema}.${table.table}`, documents, limit, {
      notReplicated,
      excluded,
    });
    const client = await this.infra.pool.connect();
    try {
      await client.query(ROW_SESSION_SETTINGS);
      await this.rowsAgainstDocuments(client, table, columns, compared, alias, result, note);
      if (documents > 0) {
        await this.documentsAgainstRows(client, table, columns, alias, note, (source) => {
          if (excluded.some((column) => Object.hasOwn(source, column))) result.staleExcluded += 1;
        });
      }
    } finally {
      await client.query('reset all').catch(() => undefined);
      client.release();
    }
    finishVerify(result, began);
    this.logger.log(
      `verify ${result.table}: ${result.rows} rows, ${documents} documents, ${result.missingTotal} missing, ${result.extraTotal} extra, ${result.mismatchedTotal} mismatched${result.staleExcluded > 0 ? `, ${result.staleExcluded} still holding excluded columns (rebuild the table)` : ''} in ${result.durationMs} ms`,
    );
    return result;
  }

  /** Each column in Debezium's wire form, so the indexer's conversion reads it. */
  private selectList(columns: Column[]): string {
    return columns.map((c, i) => `${wireExpression(c)} as c${i}`).join(', ');
  }

  private keyIndexes(table: TableColumns, columns: Column[]): number[] {
    return table.primaryKey.map((key) => columns.findIndex((c) => c.name === key));
  }

  private async rowsAgainstDocuments(
    client: PoolClient,
    table: TableColumns,
    columns: Column[],
    compared: ReadonlySet<string>,
    alias: string,
    result: VerifyResult,
    note: (list: 'missing' | 'mismatched', id: string) => void,
  ): Promise<void> {
    const keys = this.keyIndexes(table, columns);
    const from = `${ident(table.schema)}.${ident(table.table)}`;
    const order = table.primaryKey.map(ident).join(', ');
    await client.query('begin isolation level repeatable read read only');
    try {
      await client.query(
        `declare verify_rows no scroll cursor for select ${this.selectList(columns)} from ${from} order by ${order}`,
      );
      for (;;) {
        const { rows } = await client.query<Record<string, string | null>>(
          `fetch forward ${BATCH} from verify_rows`,
        );
        if (rows.length === 0) break;
        result.rows += rows.length;
        const converted = rows.map((row) => columns.map((c, i) => convertedValue(c, row[`c${i}`])));
        const ids = converted.map((values) =>
          documentId(keys.map((k) => values[k]).map((v) => (v instanceof Error ? v.message : v))),
        );
        // No documents (maybe not even an index yet): every row is missing.
        const found =
          result.documents > 0
            ? await documentsById(this.infra.engine, alias, ids)
            : new Map<string, never>();
        converted.forEach((values, i) => {
          const document = found.get(ids[i]);
          if (!document) return note('missing', ids[i]);
          const differing = columns.filter((c, j) => {
            if (!compared.has(c.name)) return false;
            const value = values[j];
            return value instanceof Error || !sameDocumentValue(c, value, document[c.name]);
          });
          if (differing.length === 0) return;
          note('mismatched', ids[i]);
          for (const column of differing) {
            result.mismatchedColumns[column.name] =
              (result.mismatchedColumns[column.name] ?? 0) + 1;
          }
        });
      }
    } finally {
      await client.query('rollback').catch(() => undefined);
    }
  }

  private async documentsAgainstRows(
    client: PoolClient,
    table: TableColumns,
    columns: Column[],
    alias: string,
    note: (list: 'extra', id: string) => void,
    seen: (source: Record<string, unknown>) => void,
  ): Promise<void> {
    const keyColumns = table.primaryKey.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      return {
        name,
        sqlType: column?.sqlType ?? 'text',
        plan: columns.find((c) => c.name === name)!,
      };
    });
    const from = `${ident(table.schema)}.${ident(table.table)}`;
    const keyList = keyColumns.map((k) => ident(k.name)).join(', ');
    const unnest = keyColumns.map((k, i) => `$${i + 1}::${k.sqlType}[]`).join(', ');
    const sql = `select ${keyColumns.map((k, i) => `${wireExpression(k.plan)} as k${i}`).join(', ')} from ${from} where (${keyList}) in (select * from unnest(${unnest}))`;
    for await (const hits of this.infra.engine.scanDocuments(alias, BATCH)) {
      const params: (string | null)[][] = keyColumns.map(() => []);
      const candidates: string[] = [];
      for (const hit of hits) {
        seen(hit.source);
        const values = this.keyValuesOf(hit.id, keyColumns.length);
        if (!values) {
          note('extra', hit.id);
          continue;
        }
        candidates.push(hit.id);
        values.forEach((v, i) => params[i].push(v));
      }
      if (candidates.length === 0) continue;
      let present: Set<string>;
      try {
        const { rows } = await client.query<Record<string, string | null>>(sql, params);
        present = new Set(
          rows.map((row) =>
            documentId(keyColumns.map((k, i) => rowDocumentValue(k.plan, row[`k${i}`]))),
          ),
        );
      } catch (error) {
        // An id that is not even a valid key value (e.g. "abc" for an integer key) is extra.
        if ((error as { code?: string }).code?.startsWith('22')) {
          present = await this.presentOneByOne(client, sql, candidates, keyColumns);
        } else throw error;
      }
      for (const id of candidates) if (!present.has(id)) note('extra', id);
    }
  }

  private async presentOneByOne(
    client: PoolClient,
    sql: string,
    ids: string[],
    keyColumns: unknown[],
  ): Promise<Set<string>> {
    const present = new Set<string>();
    for (const id of ids) {
      const values = this.keyValuesOf(id, keyColumns.length);
      if (!values) continue;
      try {
        const { rowCount } = await client.query(
          sql,
          values.map((v) => [v]),
        );
        if ((rowCount ?? 0) > 0) present.add(id);
      } catch {
        // not a valid key value: the document cannot belong to a row
      }
    }
    return present;
  }

  /** Key values (as PostgreSQL input text) from a document id; null when it cannot be one. */
  private keyValuesOf(id: string, keyCount: number): (string | null)[] | null {
    if (keyCount === 1) return [id];
    try {
      const parsed = JSON.parse(id) as DocumentValue;
      if (!Array.isArray(parsed) || parsed.length !== keyCount) return null;
      return parsed.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)));
    } catch {
      return null;
    }
  }
}
