import { createHash } from 'node:crypto';
import { mappedFields } from './search-dsl';
import {
  tableIndexMappings,
  VIEW_REFS_FIELD,
  type EngineDialect,
  TIEBREAK_FIELD,
} from './engine-dialect';
import type { IndexDescription } from './engine-common';
import { TABLE_INDEX_SETTINGS } from './engine-common';
import type { JsonObject, MappedField, SearchEngine } from './search-engine';
import {
  buildingAlias,
  engineIndexSettings,
  liveAlias,
  type TableIndexSettings,
} from './table-generations';

/**
 * Indices of document views (libs/document-views): one per view behind an alias, like a table's,
 * under names no table's can take. A table's alias is `<prefix>.<schema>.<table>`, a view's
 * `<prefix>-view.<name>`: with the same prefix they differ at the character after it (`.` against
 * `-`), so no table or generation name of a deployment is ever one of its views', and the
 * deployment's `<prefix>.*` listings and wide searches never reach a view. (The prefix has no
 * `.`, env-schemas.ts; another deployment whose prefix is `<prefix>-view` would list our views
 * among its tables' candidates, which is why table listings skip indices whose `_meta` names a
 * view.)
 */

/** The alias a view is read and written through, the concrete index behind it, the view. */
export interface ViewIndexNames {
  view: string;
  alias: string;
  index: string;
}

/** A view's index as its mapping describes it. */
export interface IndexedView {
  view: string;
  alias: string;
  /** The concrete index behind the alias. */
  index: string;
  fields: MappedField[];
  /** The index's `_meta.searchsync`: the view's name, its fingerprint, what else was added. */
  meta: JsonObject;
}

/** What view indices are created with besides their mapping and `_meta`. */
export interface ViewIndexOptions {
  index?: TableIndexSettings;
  /**
   * A new generation of a view already served: created behind its building alias only
   * (`<index>.building`, written while it fills), its index's existence decides; the swap
   * (generations.swap) makes it live.
   */
  building?: boolean;
}

/** A view name the index names cannot be made of (config validates `[a-z][a-z0-9_]*`). */
export class ViewNameInvalidError extends Error {
  readonly retryable = false;
  constructor(readonly view: string) {
    super(
      `view name ${JSON.stringify(view)} cannot name an index: lowercase letters, digits and "_", starting with a letter`,
    );
    this.name = 'ViewNameInvalidError';
  }
}

/** View names as the configuration admits them: no `.`, so no view name ends like `.v<N>`. */
const VIEW_NAME = /^[a-z][a-z0-9_]*$/;

/** What comes after the prefix in every view index name. */
export const VIEW_INDEX_INFIX = '-view.';

export function viewIndexNames(prefix: string, view: string, generation = 1): ViewIndexNames {
  if (!VIEW_NAME.test(view)) throw new ViewNameInvalidError(view);
  const alias = `${prefix}${VIEW_INDEX_INFIX}${view}`.toLowerCase();
  return { view, alias, index: `${alias}.v${generation}` };
}

/** The pattern matching every view index of a prefix, and no table index. */
export function viewIndexPattern(prefix: string): string {
  return `${prefix}${VIEW_INDEX_INFIX}*`.toLowerCase();
}

/** Arrays in order, object keys sorted: the same JSON for the same value, whatever key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as JsonObject)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A short fingerprint of a view's configuration (or of anything that decides its documents and
 * mapping), kept in `_meta.searchsync.config` as tables keep theirs: a rebuild compares it with
 * the current one to tell that the index no longer matches. Key order does not count.
 */
export function viewConfigFingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/**
 * The body of `PUT /<index>` for a new view index: the table indices' settings (a view's columns
 * map as table columns do, and use their normalizer), the mapping in the engine's terms with the
 * tie-break field (id pages sort on it) and the refs field (lookups query it), the alias, and
 * `_meta.searchsync` naming the view.
 */
export function viewIndexBody(
  dialect: EngineDialect,
  names: ViewIndexNames,
  properties: JsonObject,
  meta: JsonObject,
  options: ViewIndexOptions = {},
): JsonObject {
  const withRefs = Object.hasOwn(properties, VIEW_REFS_FIELD)
    ? properties
    : { ...properties, [VIEW_REFS_FIELD]: { type: 'keyword' } };
  return {
    settings: {
      ...dialect.indexSettings,
      ...TABLE_INDEX_SETTINGS,
      ...engineIndexSettings(options.index),
    },
    mappings: tableIndexMappings(dialect, withRefs, { searchsync: { ...meta, view: names.view } }),
    aliases: { [options.building ? buildingAlias(names.index) : names.alias]: {} },
  };
}

/**
 * Creates the view's index and alias unless the alias exists (idempotent; true when created),
 * with `_meta.searchsync` = `{ view, config, ...meta }`: `config` is the fingerprint of the mapping
 * unless `meta` gives one (the view's configuration's, viewConfigFingerprint), so that a rebuild
 * can tell the index was made for another mapping.
 */
export function ensureViewIndex(
  engine: Pick<SearchEngine, 'ensureViewIndex'>,
  names: ViewIndexNames,
  mapping: JsonObject,
  meta: JsonObject = {},
  options?: ViewIndexOptions,
): Promise<boolean> {
  return engine.ensureViewIndex(
    names,
    mapping,
    { config: viewConfigFingerprint(mapping), ...meta },
    options,
  );
}

/** Our views among `GET <prefix>-view.*` answers: those with a view's `_meta` and an alias. */
export function viewsFromIndices(indices: Record<string, IndexDescription>): IndexedView[] {
  const views: IndexedView[] = [];
  for (const [index, description] of Object.entries(indices)) {
    const meta = description.mappings?._meta?.searchsync as JsonObject | undefined;
    // A generation being rebuilt has only its building alias: not (yet) the view's.
    const alias = liveAlias(description.aliases);
    if (!meta || typeof meta.view !== 'string' || !alias) continue;
    views.push({
      view: meta.view,
      alias,
      index,
      // The refs field is ours, as the tie-break field is (mappedFields leaves that out).
      fields: mappedFields(description.mappings?.properties).filter(
        (field) => field.name !== VIEW_REFS_FIELD,
      ),
      meta: { ...meta },
    });
  }
  return views.sort((a, b) => a.alias.localeCompare(b.alias));
}

/** Whether an index's `_meta.searchsync` is a view's (so not a table's, whatever else it says). */
export function isViewMeta(meta: JsonObject | undefined): boolean {
  return meta?.view !== undefined;
}

/** Ids per page of id lookups; engines cap a page (index.max_result_window) at 10,000. */
export const ID_PAGE_SIZE = 1000;
export const MAX_ID_PAGE_SIZE = 10_000;

/**
 * The search of one page of ids matching `query`, in id order after `after` (the sort values of
 * the last hit of the page before): `search_after` on the tie-break field, the document id as a
 * keyword with doc values in every document we write, so the pages follow a cursor, not an
 * offset, and documents rewritten between pages are neither skipped nor repeated past it.
 */
export function idPageBody(query: JsonObject, size: number, after?: unknown[]): JsonObject {
  return {
    size: Math.max(1, Math.min(Math.floor(size), MAX_ID_PAGE_SIZE)),
    _source: false,
    track_total_hits: false,
    query: { bool: { filter: [query] } },
    sort: [{ [TIEBREAK_FIELD]: { order: 'asc' } }],
    ...(after ? { search_after: after } : {}),
  };
}
