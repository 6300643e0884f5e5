import { openSearchDialect, tableIndexMappings, type EngineDialect } from './engine-dialect';
import { SearchEngineNotFoundError } from './search-engine.errors';
import type { JsonObject } from './search-engine';
import type { TableIndexNames, TableName } from './table-index';

/**
 * One HTTP call to the engine, errors already turned into SearchEngineError by the adapter. Both
 * clients' transports take the same shape, so what is written against it exists once.
 */
export type EngineTransport = <T>(
  method: string,
  path: string,
  params?: { body?: JsonObject; querystring?: Record<string, unknown>; bulkBody?: string },
) => Promise<T>;

/** Suffix of the alias a generation under construction is written through. */
export const BUILDING_ALIAS_SUFFIX = '.building';

/**
 * The alias an index under construction is written through: the indexer writes every change of
 * the table to it as well as to the live alias, and `require_alias` makes a write after the
 * generation was dropped fail instead of auto-creating an index without our mapping.
 */
export function buildingAlias(index: string): string {
  return `${index}${BUILDING_ALIAS_SUFFIX}`;
}

/** The generation index a building alias points at (its name without the suffix). */
export function buildingIndex(alias: string): string {
  return alias.endsWith(BUILDING_ALIAS_SUFFIX)
    ? alias.slice(0, -BUILDING_ALIAS_SUFFIX.length)
    : alias;
}

/** The live alias among an index's aliases (not a building one), or undefined. */
export function liveAlias(aliases: Record<string, unknown> | undefined): string | undefined {
  return Object.keys(aliases ?? {}).find((name) => !name.endsWith(BUILDING_ALIAS_SUFFIX));
}

/** Index settings a table may configure; shards only when an index is created. */
export interface TableIndexSettings {
  shards?: number;
  replicas?: number;
  refresh?: string;
}

/** What an index is created with besides its mapping. */
export interface TableIndexOptions {
  index?: TableIndexSettings;
  /** Merged into `_meta.searchsync` next to schema and table (e.g. the config fingerprint). */
  meta?: JsonObject;
}

/** One index of a table: its generation number and what points at it. */
export interface TableGeneration {
  index: string;
  generation: number;
  /** Behind the live alias: what queries read. */
  live: boolean;
  /** Behind its building alias: being filled by a rebuild. */
  building: boolean;
  /** `_meta.searchsync`. */
  meta: JsonObject;
}

interface IndexEntry {
  aliases?: Record<string, unknown>;
  mappings?: { _meta?: { searchsync?: JsonObject }; properties?: JsonObject; _source?: JsonObject };
}

/**
 * The number a new generation of the table takes: never one used before, even by a generation
 * dropped since (the live `_meta.lastGeneration` remembers it): the indexer knows generations by
 * name, and a reused name would inherit what it knew of the old one.
 */
export function nextGeneration(generations: TableGeneration[]): number {
  const used = generations
    .filter((g) => g.live)
    .map((g) => Number(g.meta.lastGeneration ?? 0))
    .filter((n) => Number.isSafeInteger(n));
  return Math.max(0, ...generations.map((g) => g.generation), ...used) + 1;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Settings keys of `TableIndexSettings` as the engine names them, for creation or a live update. */
export function engineIndexSettings(settings: TableIndexSettings | undefined): JsonObject {
  const out: JsonObject = {};
  if (settings?.shards !== undefined) out.number_of_shards = settings.shards;
  if (settings?.replicas !== undefined) out.number_of_replicas = settings.replicas;
  if (settings?.refresh !== undefined) out.refresh_interval = settings.refresh;
  return out;
}

/**
 * Index generations of a table (`<alias>.v<N>`), for rebuilds: a new generation is created empty
 * behind its building alias, filled while the live one keeps answering, then swapped in with one
 * atomic alias change. Written once over the transport both adapters share.
 */
export class TableGenerations {
  constructor(
    private readonly request: EngineTransport,
    /** What differs on the engine: field types, settings of new indices. */
    private readonly dialect: () => EngineDialect | Promise<EngineDialect> = () =>
      openSearchDialect(),
  ) {}

  /** Indices named `<alias>.v*`, with their aliases and mappings; none when nothing matches. */
  private async indicesNamedLike(alias: string): Promise<Record<string, IndexEntry>> {
    try {
      return await this.request<Record<string, IndexEntry>>(
        'GET',
        `/${encodeURIComponent(`${alias}.v*`)}`,
        { querystring: { allow_no_indices: true, ignore_unavailable: true } },
      );
    } catch (error) {
      if (error instanceof SearchEngineNotFoundError) return {};
      throw error;
    }
  }

  /** Every index of the table named `<alias>.v<N>` that carries our `_meta`, oldest first. */
  async list(names: TableName & { alias: string }): Promise<TableGeneration[]> {
    return this.generationsIn(names, await this.indicesNamedLike(names.alias));
  }

  private generationsIn(
    names: TableName & { alias: string },
    body: Record<string, IndexEntry>,
  ): TableGeneration[] {
    const pattern = new RegExp(`^${escapeRegex(names.alias)}\\.v(\\d+)$`);
    const generations: TableGeneration[] = [];
    for (const [index, entry] of Object.entries(body)) {
      const match = pattern.exec(index);
      const meta = entry.mappings?._meta?.searchsync;
      // Another table's index may match the pattern (a table named `t.v2`): the _meta decides.
      if (!match || !meta || meta.schema !== names.schema || meta.table !== names.table) continue;
      const aliases = Object.keys(entry.aliases ?? {});
      generations.push({
        index,
        generation: Number(match[1]),
        live: aliases.includes(names.alias),
        building: aliases.includes(buildingAlias(index)),
        meta: { ...meta },
      });
    }
    return generations.sort((a, b) => a.generation - b.generation);
  }

  /**
   * Empty indices named like one of the table's generations but without our `_meta`: what an
   * engine auto-creates when a delete names a generation that was dropped meanwhile. An index
   * with documents is never one of these (it may be someone's).
   */
  async strays(names: TableName & { alias: string }): Promise<string[]> {
    const body = await this.indicesNamedLike(names.alias);
    const pattern = new RegExp(`^${escapeRegex(names.alias)}\\.v\\d+(\\.building)?$`);
    const strays: string[] = [];
    for (const [index, entry] of Object.entries(body)) {
      if (!pattern.test(index) || entry.mappings?._meta?.searchsync) continue;
      if (Object.keys(entry.aliases ?? {}).length > 0) continue;
      const counted = await this.request<{ count?: number }>(
        'GET',
        `/${encodeURIComponent(index)}/_count`,
      );
      if ((counted.count ?? 0) === 0) strays.push(index);
    }
    return strays;
  }

  /**
   * The building aliases of every table under the prefix, by live alias: where the indexer writes
   * each change a second time while a rebuild runs.
   */
  async buildingTargets(prefix: string): Promise<Map<string, string[]>> {
    let body: Record<string, IndexEntry>;
    try {
      body = await this.request<Record<string, IndexEntry>>(
        'GET',
        `/_alias/${encodeURIComponent(`${prefix}.*${BUILDING_ALIAS_SUFFIX}`)}`,
      );
    } catch (error) {
      if (error instanceof SearchEngineNotFoundError) return new Map();
      throw error;
    }
    const targets = new Map<string, string[]>();
    for (const [index, entry] of Object.entries(body)) {
      const generation = /^(.*)\.v\d+$/.exec(index);
      if (!generation || !Object.keys(entry.aliases ?? {}).includes(buildingAlias(index))) continue;
      const live = generation[1];
      targets.set(live, [...(targets.get(live) ?? []), buildingAlias(index)]);
    }
    return targets;
  }

  /**
   * Creates generation `names.index` empty, behind its building alias only (queries do not see
   * it), with our base settings plus `options`. Its fields are mapped by the indexer from the
   * change events that fill it, exactly as a new table's are.
   */
  async create(
    names: TableIndexNames,
    baseSettings: JsonObject,
    options: TableIndexOptions & { properties?: JsonObject },
  ): Promise<void> {
    const dialect = await this.dialect();
    await this.request('PUT', `/${encodeURIComponent(names.index)}`, {
      body: {
        settings: {
          ...dialect.indexSettings,
          ...baseSettings,
          ...engineIndexSettings(options.index),
        },
        mappings: tableIndexMappings(dialect, options.properties ?? {}, {
          searchsync: { schema: names.schema, table: names.table, ...options.meta },
        }),
        aliases: { [buildingAlias(names.index)]: {} },
      },
    });
  }

  /**
   * Truncate without delete-by-query: a new, empty generation with the live one's field mappings
   * and `_meta` takes the live alias in the same atomic alias request that deletes the old
   * generation. Queries see every old document or none, never a half-deleted table, and nothing
   * is left behind to merge away. Null when the table has no live index.
   */
  async replaceWithEmpty(
    names: TableName & { alias: string },
    baseSettings: JsonObject,
    options: { index?: TableIndexSettings },
  ): Promise<{ index: string; replaced: string[] } | null> {
    const entries = await this.indicesNamedLike(names.alias);
    const generations = this.generationsIn(names, entries);
    const live = generations.filter((g) => g.live);
    if (live.length === 0) return null;
    const newest = live[live.length - 1];
    const generation = nextGeneration(generations);
    const index = `${names.alias}.v${generation}`;
    const dialect = await this.dialect();
    const liveMappings = entries[newest.index]?.mappings;
    await this.request('PUT', `/${encodeURIComponent(index)}`, {
      body: {
        settings: {
          ...dialect.indexSettings,
          ...baseSettings,
          ...engineIndexSettings(options.index),
        },
        // Already in the engine's own terms: copied, not translated again. The live `_source`
        // settings are kept, with the tie-break field excluded (and added, for an index
        // created before it existed).
        mappings: tableIndexMappings(
          dialect,
          liveMappings?.properties ?? {},
          { searchsync: { ...newest.meta, lastGeneration: generation } },
          { translated: true, source: liveMappings?._source },
        ),
      },
    });
    const actions: JsonObject[] = [
      { add: { index, alias: names.alias } },
      ...live.map((g) => ({ remove_index: { index: g.index } })),
    ];
    try {
      await this.request('POST', '/_aliases', { body: { actions } });
    } catch (error) {
      await this.drop([index]).catch(() => undefined);
      throw error;
    }
    return { index, replaced: live.map((g) => g.index) };
  }

  /**
   * In one atomic alias change: the live alias leaves every index that holds it and points at
   * `index`, whose building alias goes. Queries see the old generation or the new, never both
   * and never none.
   */
  async swap(alias: string, index: string, previous: string[]): Promise<void> {
    const actions: JsonObject[] = previous
      .filter((old) => old !== index)
      .map((old) => ({ remove: { index: old, alias } }));
    actions.push({ add: { index, alias } });
    actions.push({ remove: { index, alias: buildingAlias(index) } });
    await this.request('POST', '/_aliases', { body: { actions } });
  }

  /** Removes the building alias of an index (it is no longer written twice). */
  async stopBuilding(index: string): Promise<void> {
    await this.request('POST', '/_aliases', {
      body: { actions: [{ remove: { index, alias: buildingAlias(index) } }] },
    });
  }

  /** Deletes indices by exact name; those already gone are not an error. */
  async drop(indices: string[]): Promise<void> {
    if (indices.length === 0) return;
    await this.request('DELETE', `/${indices.map(encodeURIComponent).join(',')}`, {
      querystring: { ignore_unavailable: true },
    });
  }

  /** Applies settings that need no rebuild (replicas, refresh) to the indices behind a name. */
  async applySettings(target: string, settings: Omit<TableIndexSettings, 'shards'>): Promise<void> {
    const index = engineIndexSettings(settings);
    if (Object.keys(index).length === 0) return;
    await this.request('PUT', `/${encodeURIComponent(target)}/_settings`, { body: { index } });
  }

  /** The current value of settings that apply live, as the engine reports them. */
  async liveSettings(target: string): Promise<{ replicas?: number; refresh?: string }> {
    const body = await this.request<
      Record<
        string,
        { settings?: { index?: { number_of_replicas?: string; refresh_interval?: string } } }
      >
    >('GET', `/${encodeURIComponent(target)}/_settings`, {
      querystring: { include_defaults: false },
    });
    const first = Object.values(body)[0]?.settings?.index;
    return {
      ...(first?.number_of_replicas !== undefined
        ? { replicas: Number(first.number_of_replicas) }
        : {}),
      ...(first?.refresh_interval !== undefined ? { refresh: first.refresh_interval } : {}),
    };
  }

  /** Index operations the engine has applied to an index (progress that needs no refresh). */
  async indexedOperations(index: string): Promise<number> {
    const body = await this.request<{
      _all?: { primaries?: { indexing?: { index_total?: number } } };
    }>('GET', `/${encodeURIComponent(index)}/_stats/indexing`);
    return body._all?.primaries?.indexing?.index_total ?? 0;
  }

  async refresh(target: string): Promise<void> {
    await this.request('POST', `/${encodeURIComponent(target)}/_refresh`);
  }
}

/**
 * How old the indexer's knowledge of building aliases may be when it starts on a batch. The
 * admin waits more than twice this after creating a generation before Debezium re-reads the
 * table, so every change committed after the re-read began is written to the new generation.
 */
export const REBUILD_TARGETS_MAX_AGE_MS = 2000;
