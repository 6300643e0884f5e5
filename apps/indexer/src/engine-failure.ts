import { SearchEngineError, type BulkItemResult } from '@searchsync/search-engine';

/**
 * A failure of the search engine that says nothing about the data being written: the engine
 * down or throttling, credentials refused, an index or the cluster blocked for writes
 * (including the flood-stage read-only block), a closed index, or a client failure with no
 * HTTP answer. Writing the same documents later succeeds once the cause is gone, so they are
 * retried — never split up and dead-lettered.
 */
export interface EngineOutage {
  /** Expected to pass by itself (429, 5xx, timeouts, unreachable): reported only if it lasts. */
  transient: boolean;
  /** What blocks the writes, for /health and the log. */
  reason: string;
}

/** Engine error types that mean "writes are not allowed now", whatever their status. */
const BLOCK_PATTERN =
  /cluster_block_exception|index_closed_exception|security_exception|authentication|unauthori[sz]ed|forbidden|read[-_ ]only|blocked by/i;

/**
 * Request-level refusals that are about one document of the request: only those justify
 * splitting a bulk request to find the culprit.
 */
const DOCUMENT_TYPES = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'strict_dynamic_mapping_exception',
  'mapper_exception',
  'x_content_parse_exception',
  'json_parse_exception',
  'json_e_o_f_exception',
  'parse_exception',
]);

/** The message `toEngineError` gives a client failure that had no HTTP answer. */
const CLIENT_FAILURE = /^search engine call failed/;

function blockReason(status: number | undefined, text: string): string | null {
  if (status === 401) return `credentials refused (401): ${text}`;
  if (status === 403) return `writes forbidden (403): ${text}`;
  if (BLOCK_PATTERN.test(text)) return text;
  return null;
}

/** The outage behind a thrown engine error, or null when the error may be about the data. */
export function engineOutage(error: unknown): EngineOutage | null {
  if (!(error instanceof SearchEngineError)) return null;
  const text = error.type ? `${error.type}: ${error.message}` : error.message;
  if (error.retryable) return { transient: true, reason: error.message };
  const blocked = blockReason(error.statusCode, text);
  if (blocked) return { transient: false, reason: blocked };
  if (error.statusCode === undefined && CLIENT_FAILURE.test(error.message)) {
    return { transient: false, reason: `search engine client failure: ${error.message}` };
  }
  return null;
}

/**
 * Whether a refused bulk request is about one of its documents (too large, or one that cannot
 * be parsed), so that halving it finds the culprit. Anything else is not the documents' fault.
 */
export function isDocumentRefusal(error: unknown): boolean {
  if (!(error instanceof SearchEngineError) || error.retryable) return false;
  if (error.statusCode === 413) return true;
  if (error.statusCode !== 400 || engineOutage(error)) return false;
  const type = error.type ?? /\b([a-z_]+_exception)\b/.exec(error.message)?.[1];
  if (type && DOCUMENT_TYPES.has(type)) return true;
  return (
    type === 'illegal_argument_exception' &&
    /document|field|parse|malformed|content/i.test(error.message)
  );
}

/** The outage behind one bulk item's failure, or null when the item itself was refused. */
export function itemOutage(result: BulkItemResult): EngineOutage | null {
  const reason = result.reason ?? `status ${result.status}`;
  if (result.outcome === 'retryable') {
    // Only throttling is surely the engine's state; a 5xx on one item may be the item's.
    return result.status === 429 ? { transient: true, reason } : null;
  }
  if (result.outcome !== 'rejected') return null;
  const blocked = blockReason(result.status, reason);
  return blocked ? { transient: false, reason: blocked } : null;
}
