import { TIEBREAK_FIELD } from './engine-dialect';
import { vectorCopies } from './vector-fields';
import {
  isRetryableStatus,
  MAPPING_REFUSED,
  SearchEngineNotFoundError,
  SearchEngineRequestError,
} from './search-engine.errors';
import { mappedFields } from './search-dsl';
import { engineIndexSettings, liveAlias, type TableIndexOptions } from './table-generations';
import type {
  BulkAction,
  BulkItemResult,
  JsonObject,
  SearchRequest,
  TableMapping,
} from './search-engine';

interface BulkItemError {
  type?: string;
  reason?: string;
  caused_by?: BulkItemError;
}

export interface BulkResponseItem {
  status: number;
  error?: BulkItemError;
}

export function bulkLine(action: BulkAction): string {
  // Built by hand so the 64-bit version goes out as an exact JSON number. external_gte: an
  // equal version is the same source event replayed, or a resync read at the row's current
  // position — both may rewrite the document; only an older version is refused.
  // require_alias (per item, OpenSearch 2.x and Elasticsearch 7.10+): a write for a table whose
  // index was deleted must fail, not auto-create a plain index without our mapping, `_meta` and
  // alias under the alias' name. A delete never creates an index, so it does not need it.
  const requireAlias = action.type === 'index' ? ',"require_alias":true' : '';
  const id = JSON.stringify(action.id);
  const meta = `{"${action.type}":{"_index":${JSON.stringify(action.index)},"_id":${id},"version":${action.version.toString()},"version_type":"external_gte"${requireAlias}}}`;
  if (action.type === 'delete') return `${meta}\n`;
  const copies = action.vectors?.length ? vectorCopies(action.document, action.vectors) : {};
  return `${meta}\n${documentWithOurFields(action.document, id, copies)}\n`;
}

/**
 * The document with the tie-break field (its id, for sorting) and the vector copies appended;
 * the index mapping keeps them out of the stored `_source`.
 */
function documentWithOurFields(document: JsonObject, id: string, copies: JsonObject): string {
  // No column can be named like them (longer than any PostgreSQL identifier); should a document
  // carry one anyway, ours wins rather than sending a duplicate key.
  const ours = Object.keys(copies);
  if (
    Object.prototype.hasOwnProperty.call(document, TIEBREAK_FIELD) ||
    ours.some((field) => Object.prototype.hasOwnProperty.call(document, field))
  ) {
    return JSON.stringify({ ...document, ...copies, [TIEBREAK_FIELD]: JSON.parse(id) as string });
  }
  const json = JSON.stringify(document);
  let fields = `"${TIEBREAK_FIELD}":${id}`;
  if (ours.length > 0) fields += `,${JSON.stringify(copies).slice(1, -1)}`;
  return json === '{}' ? `{${fields}}` : `${json.slice(0, -1)},${fields}}`;
}

/** Whether an engine failure says the index or alias named does not exist. */
export function isMissingIndex(error: unknown): boolean {
  return (
    error instanceof SearchEngineNotFoundError &&
    (error.type === 'index_not_found_exception' || /no such index/.test(error.message))
  );
}

/** Item error types that mean "writes are not allowed now", whatever their status. */
const BLOCK_TYPES = new Set([
  'cluster_block_exception',
  'index_closed_exception',
  'security_exception',
]);

/** `type: reason (caused by type: reason)`: the cause often says what the type does not. */
function itemReason(status: number, error: BulkItemError | undefined): string {
  const text = `${error?.type ?? 'error'}: ${error?.reason ?? `status ${status}`}`;
  const cause = error?.caused_by;
  if (!cause) return text;
  return `${text} (caused by ${cause.type ?? 'error'}: ${cause.reason ?? 'no reason given'})`;
}

export function classifyBulkItem(item: BulkResponseItem, type: BulkAction['type']): BulkItemResult {
  const { status } = item;
  const errorType = item.error?.type;
  if (status === 409) return { status, outcome: 'stale', reason: item.error?.reason };
  // Absent document or absent index: either way there is nothing left to delete.
  if (type === 'delete' && status === 404) return { status, outcome: 'applied' };
  if (status >= 200 && status < 300) return { status, outcome: 'applied' };
  const reason = itemReason(status, item.error);
  const typed = errorType !== undefined ? { type: errorType } : {};
  if (status === 404 && (errorType === 'index_not_found_exception' || /require_alias/.test(reason)))
    return { status, outcome: 'missing_index', reason, ...typed };
  // Flood-stage read-only blocks come as 429 (or 403) cluster_block_exception: a block, not a
  // throttle, so they are checked before the status.
  if (status === 401 || status === 403 || (errorType !== undefined && BLOCK_TYPES.has(errorType)))
    return { status, outcome: 'blocked', reason, ...typed };
  return {
    status,
    outcome: isRetryableStatus(status) ? 'retryable' : 'rejected',
    reason,
    ...typed,
  };
}

/** Normalizer of case-insensitive keyword fields (uuid); change-events' mappings name it. */
export const LOWERCASE_NORMALIZER = 'searchsync_lowercase';

/**
 * Settings of every table index we create. `index.mapping.ignore_malformed`: a value a field
 * cannot take (a numeric beyond a double, a date past the engine's range) leaves the row
 * indexed by its other fields, in `_source` as it is — never a rejected document.
 */
export const TABLE_INDEX_SETTINGS: JsonObject = {
  number_of_shards: 1,
  number_of_replicas: 0,
  'index.mapping.ignore_malformed': true,
  analysis: {
    normalizer: { [LOWERCASE_NORMALIZER]: { type: 'custom', filter: ['lowercase'] } },
  },
};

/** Settings and `_meta` of a new table index: ours, with the table's configured ones. */
export function newTableIndex(
  names: { schema: string; table: string },
  options: TableIndexOptions | undefined,
): { settings: JsonObject; meta: JsonObject } {
  return {
    settings: { ...TABLE_INDEX_SETTINGS, ...engineIndexSettings(options?.index) },
    meta: { searchsync: { schema: names.schema, table: names.table, ...options?.meta } },
  };
}

/** Removes `normalizer` settings, for indices created before we defined one. */
export function withoutNormalizers(properties: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, raw] of Object.entries(properties)) {
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const spec = { ...(raw as JsonObject) };
      delete spec.normalizer;
      if (spec.properties && typeof spec.properties === 'object')
        spec.properties = withoutNormalizers(spec.properties as JsonObject);
      out[name] = spec;
    } else out[name] = raw;
  }
  return out;
}

/**
 * Puts a mapping in one call, and when the engine refuses it (an older index maps a column
 * differently, or lacks our normalizer) field by field, so one conflict does not leave the
 * other new columns unmapped. Throws the refusals that remain, naming their fields.
 */
export async function putMappingTolerant(
  properties: JsonObject,
  put: (properties: JsonObject) => Promise<void>,
  isRefusal: (error: unknown) => boolean,
): Promise<void> {
  try {
    await put(properties);
    return;
  } catch (error) {
    if (!isRefusal(error) || Object.keys(properties).length === 0) throw error;
  }
  const refused: string[] = [];
  let last: unknown;
  for (const [name, spec] of Object.entries(properties)) {
    try {
      await put({ [name]: spec });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      try {
        await put(withoutNormalizers({ [name]: spec }));
      } catch (again) {
        if (!isRefusal(again)) throw again;
        refused.push(name);
        last = again;
      }
    }
  }
  if (refused.length > 0) {
    const reason = last instanceof Error ? last.message : String(last);
    throw new SearchEngineRequestError(
      `mapping of ${refused.join(', ')} refused by the engine (values stay in _source): ${reason}`,
      400,
      MAPPING_REFUSED,
    );
  }
}

export interface IndexDescription {
  aliases?: Record<string, unknown>;
  mappings?: {
    _meta?: { searchsync?: { schema: string; table: string } & JsonObject } & JsonObject;
    properties?: JsonObject;
  };
}

/**
 * The `_meta` to put on an index so that `meta` is merged into its `searchsync` object. A
 * PUT _mapping with `_meta` replaces the whole `_meta` (checked on OpenSearch 2.19), so the
 * other keys are carried over from the current one.
 */
export function mergedTableMeta(current: JsonObject | undefined, meta: JsonObject): JsonObject {
  const base = current ?? {};
  const searchsync =
    base.searchsync && typeof base.searchsync === 'object' && !Array.isArray(base.searchsync)
      ? (base.searchsync as JsonObject)
      : {};
  return { ...base, searchsync: { ...searchsync, ...meta } };
}

/** Our tables among `GET <prefix>.*` answers: those with our `_meta` and an alias. */
export function tablesFromIndices(indices: Record<string, IndexDescription>): TableMapping[] {
  const tables: TableMapping[] = [];
  for (const [index, description] of Object.entries(indices)) {
    const meta = description.mappings?._meta?.searchsync;
    // A generation being rebuilt has only its building alias: not (yet) the table's.
    const alias = liveAlias(description.aliases);
    if (!meta || !alias) continue;
    tables.push({
      schema: meta.schema,
      table: meta.table,
      alias,
      index,
      fields: mappedFields(description.mappings?.properties),
      meta: { ...meta },
    });
  }
  return tables.sort((a, b) => a.alias.localeCompare(b.alias));
}

/** Maps concrete index names in hits back to the aliases the request named. */
export function aliasResolver(request: SearchRequest): (index: string) => string {
  return (index) =>
    request.indices.find((alias) => index === alias || index.startsWith(`${alias}.v`)) ?? index;
}

/** Longest comma-joined alias list sent in a URL; beyond it the wide target is used. */
const MAX_TARGET_LENGTH = 2000;

/** Where a search goes: the aliases in the URL, or our pattern with the indices in the body. */
export function searchTarget(request: SearchRequest): {
  path: string;
  wide: boolean;
  indexFilter?: JsonObject;
} {
  const joined = request.indices.join(',');
  if (joined.length <= MAX_TARGET_LENGTH || !request.wideTarget)
    return { path: joined, wide: false };
  return {
    path: request.wideTarget.pattern,
    wide: true,
    indexFilter: { terms: { _index: request.wideTarget.concreteIndices } },
  };
}
