import {
  SearchEngineClientError,
  SearchEngineError,
  type BulkItemResult,
} from '@searchsync/search-engine';

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
const BLOCK_TYPES = new Set([
  'cluster_block_exception',
  'index_closed_exception',
  'security_exception',
]);

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

function blockReason(status: number | undefined, type: string | undefined, text: string) {
  if (status === 401) return `credentials refused (401): ${text}`;
  if (status === 403) return `writes forbidden (403): ${text}`;
  if (type !== undefined && BLOCK_TYPES.has(type)) return text;
  return null;
}

/** The outage behind a thrown engine error, or null when the error may be about the data. */
export function engineOutage(error: unknown): EngineOutage | null {
  if (!(error instanceof SearchEngineError)) return null;
  // Before `retryable`: a client failure will not pass by itself, so it is reported at once.
  if (error instanceof SearchEngineClientError) {
    return { transient: false, reason: `search engine client failure: ${error.message}` };
  }
  const text = error.type ? `${error.type}: ${error.message}` : error.message;
  // A block may come as 429 (flood stage) or 503 (no master): reported at once either way.
  const blocked = blockReason(error.statusCode, error.type, text);
  if (blocked) return { transient: false, reason: blocked };
  if (error.retryable) return { transient: true, reason: error.message };
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
  if (error.type !== undefined && DOCUMENT_TYPES.has(error.type)) return true;
  // illegal_argument_exception is also what a malformed request line gets; only the message
  // can tell one about a document's content apart.
  return (
    error.type === 'illegal_argument_exception' &&
    /document|field|parse|malformed|content/i.test(error.message)
  );
}

/** The outage behind one bulk item's failure, or null when the item itself was refused. */
export function itemOutage(result: BulkItemResult): EngineOutage | null {
  const reason = result.reason ?? `status ${result.status}`;
  if (result.outcome === 'blocked') {
    return { transient: false, reason: blockReason(result.status, result.type, reason) ?? reason };
  }
  // Only throttling is surely the engine's state; a 5xx on one item may be the item's.
  if (result.outcome === 'retryable' && result.status === 429) return { transient: true, reason };
  return null;
}
