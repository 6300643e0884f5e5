import { isUnavailableValue, type DocumentValue } from '@searchsync/change-events';

type Document = { [column: string]: DocumentValue };

/**
 * The columns an update left unchanged and Debezium sent as its "unavailable value"
 * placeholder (TOASTed values under REPLICA IDENTITY DEFAULT): the placeholder must never
 * overwrite what is stored.
 */
export function unchangedToastColumns(document: Document): string[] {
  return Object.keys(document).filter((column) => isUnavailableValue(document[column]));
}

/**
 * Puts the stored value in place of each placeholder of `document`. A column with nothing
 * stored (the row's earlier versions never reached the index) is left out of the document
 * rather than written as the placeholder; those columns are returned.
 */
export function keepStoredToast(
  document: Document,
  stored: Record<string, unknown> | null,
): string[] {
  const unresolved: string[] = [];
  for (const [column, value] of Object.entries(document)) {
    if (!isUnavailableValue(value)) continue;
    if (stored && column in stored) {
      document[column] = stored[column] as DocumentValue;
    } else {
      delete document[column];
      unresolved.push(column);
    }
  }
  return unresolved;
}

/**
 * `document` with the unchanged columns taken from another stored copy of the row where it holds
 * them (a generation being rebuilt, whose re-read row is newer than the live index's).
 */
export function withStoredToast(
  document: Record<string, unknown>,
  stored: Record<string, unknown> | null,
  unchanged: string[],
): Record<string, unknown> {
  const merged = { ...document };
  for (const column of unchanged) {
    if (stored && column in stored) merged[column] = stored[column];
  }
  return merged;
}
