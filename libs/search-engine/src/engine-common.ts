import { isRetryableStatus, SearchEngineRequestError } from './search-engine.errors';
import { mappedFields } from './search-dsl';
import type {
  BulkAction,
  BulkItemResult,
  JsonObject,
  SearchRequest,
  TableMapping,
} from './search-engine';

export interface BulkResponseItem {
  status: number;
  error?: { type?: string; reason?: string };
}

export function bulkLine(action: BulkAction): string {
  // Built by hand so the 64-bit version goes out as an exact JSON number. external_gte: an
  // equal version is the same source event replayed, or a resync read at the row's current
  // position — both may rewrite the document; only an older version is refused.
  const meta = `{"${action.type}":{"_index":${JSON.stringify(action.index)},"_id":${JSON.stringify(action.id)},"version":${action.version.toString()},"version_type":"external_gte"}}`;
  return action.type === 'index' ? `${meta}\n${JSON.stringify(action.document)}\n` : `${meta}\n`;
}

export function classifyBulkItem(item: BulkResponseItem, type: BulkAction['type']): BulkItemResult {
  const { status } = item;
  if (status === 409) return { status, outcome: 'stale', reason: item.error?.reason };
  if (type === 'delete' && status === 404) return { status, outcome: 'applied' };
  if (status >= 200 && status < 300) return { status, outcome: 'applied' };
  const reason = `${item.error?.type ?? 'error'}: ${item.error?.reason ?? `status ${status}`}`;
  return { status, outcome: isRetryableStatus(status) ? 'retryable' : 'rejected', reason };
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
    );
  }
}

export interface SearchEngineOptions {
  /** Per-request timeout of engine calls; a call that exceeds it fails as a timeout. */
  requestTimeoutMs?: number;
}

export interface IndexDescription {
  aliases?: Record<string, unknown>;
  mappings?: {
    _meta?: { searchsync?: { schema: string; table: string } };
    properties?: JsonObject;
  };
}

/** Our tables among `GET <prefix>.*` answers: those with our `_meta` and an alias. */
export function tablesFromIndices(indices: Record<string, IndexDescription>): TableMapping[] {
  const tables: TableMapping[] = [];
  for (const [index, description] of Object.entries(indices)) {
    const meta = description.mappings?._meta?.searchsync;
    const alias = Object.keys(description.aliases ?? {})[0];
    if (!meta || !alias) continue;
    tables.push({
      schema: meta.schema,
      table: meta.table,
      alias,
      index,
      fields: mappedFields(description.mappings?.properties),
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
