/** `scheme://user:password@` in a URL. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
/** An `Authorization` header value (Basic, ApiKey, Bearer, AWS4-HMAC-SHA256 …). */
const AUTHORIZATION_VALUE = /(authorization["']?\s*[:=]\s*["']?)[a-z0-9-]+ [^"'\s,}]+/gi;

/**
 * Text with credentials blanked: the user and password of URLs (`https://***@host`) and
 * authorization header values. Every message of a SearchEngineError goes through it, so an
 * error that quotes a URL or a request never carries a secret into logs or answers.
 */
export function redactCredentials(text: string): string {
  return text.replace(URL_USERINFO, '$1***@').replace(AUTHORIZATION_VALUE, '$1***');
}

/** A URL as it may be shown: without its user and password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return redactCredentials(url);
  }
}

/**
 * Base of every search-engine failure; `retryable` tells callers whether to back off and retry.
 * A failure of the client library it stands for is its `cause` (`options.cause`), kept for the
 * logs, which redact it as they redact the message.
 */
export class SearchEngineError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly statusCode?: number,
    /** The engine's error type (e.g. `too_many_buckets_exception`), when it gave one. */
    readonly type?: string,
    options?: ErrorOptions,
  ) {
    super(redactCredentials(message), options);
    this.name = new.target.name;
  }
}

/** The engine cannot be reached or answered 429/5xx. */
export class SearchEngineUnavailableError extends SearchEngineError {
  constructor(message: string, statusCode?: number, type?: string, options?: ErrorOptions) {
    super(message, true, statusCode, type, options);
  }
}

/** The engine did not answer within the request timeout. */
export class SearchEngineTimeoutError extends SearchEngineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, true, undefined, 'timeout', options);
  }
}

/** The engine refused the request for a reason that retrying will not fix. */
export class SearchEngineRequestError extends SearchEngineError {
  constructor(message: string, statusCode?: number, type?: string, options?: ErrorOptions) {
    super(message, false, statusCode, type, options);
  }
}

/**
 * The client failed without an HTTP answer that says why (a request it could not serialize, an
 * answer it could not parse, an aborted request, its configuration). Nothing is known about the
 * data, so it is retried like an outage.
 */
export class SearchEngineClientError extends SearchEngineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, true, undefined, 'client_error', options);
  }
}

/** The engine refused a mapping for some fields; their values stay in `_source`. */
export const MAPPING_REFUSED = 'mapping_refused';

/**
 * The engine answered 404: the index or alias named does not exist (type
 * `index_not_found_exception`), or the document asked for does not.
 */
export class SearchEngineNotFoundError extends SearchEngineRequestError {
  constructor(message: string, type?: string, options?: ErrorOptions) {
    super(message, 404, type, options);
  }
}

interface EngineErrorBody {
  error?: { type?: string; reason?: string; root_cause?: { type?: string; reason?: string }[] };
}

/** Classifies an engine answer with an error status; shared by both adapters. */
export function engineResponseError(
  status: number,
  body: unknown,
  fallback: string,
  options?: ErrorOptions,
): SearchEngineError {
  const error = (body as EngineErrorBody | undefined)?.error;
  const type = error?.root_cause?.[0]?.type ?? error?.type;
  const reason = error?.root_cause?.[0]?.reason ?? error?.reason ?? error?.type ?? fallback;
  if (type === 'too_many_buckets_exception') {
    // OpenSearch answers 503 for it, but retrying the same request cannot help.
    return new SearchEngineRequestError(
      `search engine refused the request (${status}): ${reason}`,
      status,
      type,
      options,
    );
  }
  if (status === 404)
    return new SearchEngineNotFoundError(`search engine answered 404: ${reason}`, type, options);
  return isRetryableStatus(status)
    ? new SearchEngineUnavailableError(
        `search engine answered ${status}: ${reason}`,
        status,
        type,
        options,
      )
    : new SearchEngineRequestError(
        `search engine refused the request (${status}): ${reason}`,
        status,
        type,
        options,
      );
}

/** Classifies an HTTP status from the engine. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500 || status === 408;
}
