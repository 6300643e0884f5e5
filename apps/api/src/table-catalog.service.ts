import { Inject, Injectable } from '@nestjs/common';
import {
  rebuildNeed,
  tableSettings,
  type ApiConfig,
  type SearchsyncConfig,
  type SearchsyncConfigWatcher,
  type TableSettings,
} from '@searchsync/config';
import { splitTableName, viewTables } from '@searchsync/document-views';
import {
  formatTableReference,
  parseTableReference,
  type IndexedView,
  type MappedField,
  type SearchEngine,
  type TableMapping,
  type TableName,
} from '@searchsync/search-engine';
import { TableNotFoundError } from './api.errors';
import { API_CONFIG, SEARCH_ENGINE, TABLE_CONFIG } from './api.tokens';
import { FieldCatalog, isPathVisible, type PathVisibility } from './field-catalog';

/** A column of the table that is in no document, and why (recorded by the connector admin). */
export interface NotReplicatedColumn {
  column: string;
  reason: string;
}

/**
 * A synced table as the API may serve it under the current searchsync.yaml. `fields` and
 * `catalog` hold the visible fields only; `hidden` names the mapped fields that are never served.
 */
export interface CatalogTable extends TableMapping {
  /** `schema.table`, or `table` for schema public; a view's name. */
  reference: string;
  /** A synced table, or a document view (searchsync.yaml `views:`), served the same way. */
  kind: 'table' | 'view';
  /** The tables whose changes its documents follow: itself, or every table a view draws on. */
  sources: TableName[];
  /** The `nested` paths of its mapping (a view's arrays of objects), for per-element queries. */
  nestedPaths: string[];
  settings: TableSettings;
  visible: PathVisibility;
  hidden: ReadonlySet<string>;
  catalog: FieldCatalog;
  notReplicated: NotReplicatedColumn[];
  /** Why the index must be rebuilt to match the configuration, or null. */
  needsRebuild: string | null;
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

/** Whether a field path of the table may be served under `config`. */
export function pathVisibility(config: SearchsyncConfig, table: TableName): PathVisibility {
  const settings = tableSettings(config, table);
  return (path) => isPathVisible(settings, path);
}

/** A view's index as a catalogue entry: schema public, named by the view. */
export function viewMapping(view: IndexedView): TableMapping {
  return {
    schema: 'public',
    table: view.view,
    alias: view.alias,
    index: view.index,
    fields: view.fields,
    meta: { ...view.meta, view: view.view },
  };
}

/** One index mapping seen through the table's settings: what may be served, what is stale. */
export function catalogTable(mapping: TableMapping, config: SearchsyncConfig): CatalogTable {
  const settings = tableSettings(config, mapping);
  const visible: PathVisibility = (path) => isPathVisible(settings, path);
  const fields: MappedField[] = [];
  const hidden = new Set<string>();
  for (const field of mapping.fields) {
    if (visible(field.name)) fields.push(field);
    else hidden.add(field.name);
  }
  const viewName = typeof mapping.meta.view === 'string' ? mapping.meta.view : null;
  const view = viewName === null ? undefined : config.views.get(viewName);
  return {
    ...mapping,
    fields,
    kind: viewName === null ? 'table' : 'view',
    // A view no longer configured is still served; its freshness cannot be waited for.
    sources: viewName === null ? [mapping] : view ? viewTables(view).map(splitTableName) : [],
    nestedPaths: [...new Set(fields.flatMap((field) => field.nestedIn ?? []))],
    reference: formatTableReference(mapping),
    settings,
    visible,
    hidden,
    catalog: new FieldCatalog(fields),
    // A hidden column is not even named as missing: the API does not reveal that it exists.
    notReplicated: notReplicatedOf(mapping.meta).filter((c) => visible(c.column)),
    needsRebuild: rebuildNeed(settings, mapping.meta),
  };
}

/** Minimum gap between refreshes forced by unknown table names (a flood cannot hammer the engine). */
const MISS_REFRESH_GAP_MS = 1000;

/**
 * The synced tables and their fields. The index mappings are read from the engine and cached
 * briefly; what they mean under searchsync.yaml is derived again as soon as the configuration
 * changes, so a newly hidden column is never served from the cache. User table names are looked
 * up here and map to our own aliases only; they never reach the engine.
 */
@Injectable()
export class TableCatalogService {
  private mappings: TableMapping[] | undefined;
  private loadedAt = 0;
  private loading: Promise<TableMapping[]> | undefined;
  private derived:
    | { mappings: TableMapping[]; config: SearchsyncConfig; tables: Map<string, CatalogTable> }
    | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(SEARCH_ENGINE) private readonly engine: SearchEngine,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {}

  /** Whether a field path of a table may be served, under the configuration as it is now. */
  visibility(table: TableName): PathVisibility {
    return pathVisibility(this.tableConfig.current(), table);
  }

  private load(): Promise<TableMapping[]> {
    const prefix = this.config.SEARCHSYNC_INDEX_PREFIX;
    this.loading ??= Promise.all([
      this.engine.listTableMappings(prefix),
      this.engine.listViews(prefix),
    ])
      // A table named like a view keeps its name (views are entered after, tables win).
      .then(([tables, views]) => [...views.map(viewMapping), ...tables])
      .then((mappings) => {
        this.mappings = mappings;
        this.loadedAt = Date.now();
        return mappings;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async fresh(): Promise<TableMapping[]> {
    const fresh = this.mappings && Date.now() - this.loadedAt < this.config.API_CATALOG_TTL_MS;
    return fresh && this.mappings ? this.mappings : this.load();
  }

  private tablesOf(mappings: TableMapping[]): Map<string, CatalogTable> {
    const config = this.tableConfig.current();
    if (this.derived?.mappings !== mappings || this.derived.config !== config) {
      const tables = new Map<string, CatalogTable>();
      for (const mapping of mappings)
        tables.set(`${mapping.schema}.${mapping.table}`, catalogTable(mapping, config));
      this.derived = { mappings, config, tables };
    }
    return this.derived.tables;
  }

  async all(): Promise<CatalogTable[]> {
    return [...this.tablesOf(await this.fresh()).values()];
  }

  async resolve(reference: string): Promise<CatalogTable> {
    const { schema, table } = parseTableReference(reference);
    const key = `${schema}.${table}`;
    let found = this.tablesOf(await this.fresh()).get(key);
    if (!found && Date.now() - this.loadedAt >= MISS_REFRESH_GAP_MS)
      found = this.tablesOf(await this.load()).get(key);
    if (!found) throw new TableNotFoundError(reference);
    return found;
  }
}
