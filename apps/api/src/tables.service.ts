import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@searchsync/config';
import {
  formatTableReference,
  parseTableReference,
  tableIndexNames,
  type IndexedTable,
  type SearchEngine,
  type SearchResult,
} from '@searchsync/search-engine';
import { DocumentNotFoundError, InvalidQueryError, TableNotFoundError } from './api.errors';

export const API_CONFIG = Symbol('API_CONFIG');
export const SEARCH_ENGINE = Symbol('SEARCH_ENGINE');

export interface TableSummary {
  table: string;
  documents: number;
  fields: { name: string; type: string }[];
}

/** Reads of synced tables; table names resolve to our own aliases server-side only. */
@Injectable()
export class TablesService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
  ) {}

  async list(): Promise<TableSummary[]> {
    const tables = await this.engine.listTables(this.config.SEARCHSYNC_INDEX_PREFIX);
    return tables.map((t) => ({
      table: formatTableReference(t),
      documents: t.documents,
      fields: t.fields,
    }));
  }

  private async resolve(reference: string): Promise<IndexedTable> {
    const name = parseTableReference(reference);
    const alias = tableIndexNames(this.config.SEARCHSYNC_INDEX_PREFIX, name).alias;
    const tables = await this.engine.listTables(this.config.SEARCHSYNC_INDEX_PREFIX);
    const table = tables.find(
      (t) => t.alias === alias && t.schema === name.schema && t.table === name.table,
    );
    if (!table) throw new TableNotFoundError(reference);
    return table;
  }

  async getDocument(
    reference: string,
    id: string,
  ): Promise<{ id: string; table: string; source: Record<string, unknown> }> {
    const table = await this.resolve(reference);
    const source = await this.engine.getDocument(table.alias, id);
    if (!source) throw new DocumentNotFoundError(reference, id);
    return { id, table: formatTableReference(table), source };
  }

  async search(reference: string, q: string | undefined, size: number): Promise<SearchResult> {
    if (!Number.isInteger(size) || size < 1 || size > 1000) {
      throw new InvalidQueryError('size must be an integer from 1 to 1000');
    }
    const table = await this.resolve(reference);
    const query = q?.trim()
      ? { simple_query_string: { query: q, default_operator: 'and', lenient: true } }
      : { match_all: {} };
    return this.engine.search(table.alias, {
      query,
      size,
      track_total_hits: true,
    });
  }
}
