import type { BulkAction } from '@searchsync/search-engine';
import type { ViewDocumentResult } from './view-documents';
import { VIEW_REFS_FIELD } from './view-plan';

/**
 * View results as the search engine's bulk actions. Every action carries the version of the
 * snapshot the document was read in, and the engine writes with `version_type: external_gte`
 * (bulkLine): a document read in an older snapshot never overwrites one read in a newer one, a
 * re-read in the same snapshot (equal version, same visibility, same document) may, and a delete
 * keeps an older read from bringing the root back.
 */

/** Why a view document could not be written: to dead-letter, never to drop. */
export interface ViewFailure {
  /** The root's document id. */
  id: string;
  /** The snapshot version it was read at; null when it could not be read at all. */
  version: bigint | null;
  /** A typed error (ViewDocumentValueError, ViewRootIdInvalidError): its message says what to do. */
  error: Error;
}

/**
 * The index or delete action of a result for `index` (the view's alias, or a building
 * generation); null for a result that failed (see viewFailures).
 */
export function viewBulkAction(index: string, result: ViewDocumentResult): BulkAction | null {
  if (result.deleted) return { type: 'delete', index, id: result.id, version: result.version };
  if ('error' in result) return null;
  return {
    type: 'index',
    index,
    id: result.id,
    version: result.version,
    // Entries, not a spread: a column may be called `__proto__`.
    document: Object.fromEntries([
      ...Object.entries(result.document),
      [VIEW_REFS_FIELD, result.refs],
    ]),
  };
}

/** The actions of the results that have one, in result order. */
export function viewBulkActions(
  index: string,
  results: readonly ViewDocumentResult[],
): BulkAction[] {
  const actions: BulkAction[] = [];
  for (const result of results) {
    const action = viewBulkAction(index, result);
    if (action) actions.push(action);
  }
  return actions;
}

/** The results that could not become documents. */
export function viewFailures(results: readonly ViewDocumentResult[]): ViewFailure[] {
  return results.flatMap((result) =>
    !result.deleted && 'error' in result
      ? [{ id: result.id, version: result.version, error: result.error }]
      : [],
  );
}
