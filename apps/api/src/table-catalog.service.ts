import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@searchsync/config';
import {
  formatTableReference,
  parseTableReference,
  type SearchEngine,
  type TableMapping,
} from '@searchsync/search-engine';
import { TableNotFoundError } from './api.errors';
import { API_CONFIG, SEARCH_ENGINE } from './api.tokens';
import { FieldCatalog } from './field-catalog';

/** A column of the table that is in no document, and why (recorded by the connector admin). */
export interface NotReplicatedColumn {
  column: string;
  reason: string;
}

export interface CatalogTable extends TableMapping {
  /** `schema.table`, or `table` for schema public. */
  reference: string;
  catalog: FieldCatalog;
  notReplicated: NotReplicatedColumn[];
}

/**
 * `_meta.searchsync.notReplicated` of the index, as the admin's reconciler writes it; anything
 * else (not written yet, an older or foreign index) reads as none.
 */
export function notReplicatedOf(meta: TableMapping['meta'] | undefined): NotReplicatedColumn[] {
  const list = meta?.notReplicated;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { column, reason } = entry as Record<string, unknown>;
    return typeof column === 'string' && typeof reason === 'string' ? [{ column, reason }] : [];
  });
}

/** Minimum gap between refreshes forced by unknown table names (a flood cannot hammer the engine). */
const MISS_REFRESH_GAP_MS = 1000;

/**
 * The synced tables and their fields, read from the index mappings and cached briefly. User
 * table names are looked up here and map to our own aliases only; they never reach the engine.
 */
@Injectable()
export class TableCatalogService {
  private tables: Map<string, CatalogTable> | undefined;
  private loadedAt = 0;
  private loading: Promise<Map<string, CatalogTable>> | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
  ) {}

  private load(): Promise<Map<string, CatalogTable>> {
    this.loading ??= this.engine
      .listTableMappings(this.config.SEARCHSYNC_INDEX_PREFIX)
      .then((mappings) => {
        const tables = new Map<string, CatalogTable>();
        for (const mapping of mappings) {
          tables.set(`${mapping.schema}.${mapping.table}`, {
            ...mapping,
            reference: formatTableReference(mapping),
            catalog: new FieldCatalog(mapping.fields),
            notReplicated: notReplicatedOf(mapping.meta),
          });
        }
        this.tables = tables;
        this.loadedAt = Date.now();
        return tables;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  async all(): Promise<CatalogTable[]> {
    const fresh = this.tables && Date.now() - this.loadedAt < this.config.API_CATALOG_TTL_MS;
    const tables = fresh && this.tables ? this.tables : await this.load();
    return [...tables.values()];
  }

  async resolve(reference: string): Promise<CatalogTable> {
    const { schema, table } = parseTableReference(reference);
    const key = `${schema}.${table}`;
    const age = Date.now() - this.loadedAt;
    let tables =
      this.tables && age < this.config.API_CATALOG_TTL_MS ? this.tables : await this.load();
    let found = tables.get(key);
    if (!found && Date.now() - this.loadedAt >= MISS_REFRESH_GAP_MS) {
      tables = await this.load();
      found = tables.get(key);
    }
    if (!found) throw new TableNotFoundError(reference);
    return found;
  }
}
