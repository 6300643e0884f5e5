/** Base of every search-engine failure; `retryable` tells callers whether to back off and retry. */
export class SearchEngineError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly statusCode?: number,
    /** The engine's error type (e.g. `too_many_buckets_exception`), when it gave one. */
    readonly type?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The engine cannot be reached or answered 429/5xx. */
export class SearchEngineUnavailableError extends SearchEngineError {
  constructor(message: string, statusCode?: number, type?: string) {
    super(message, true, statusCode, type);
  }
}

/** The engine did not answer within the request timeout. */
export class SearchEngineTimeoutError extends SearchEngineError {
  constructor(message: string) {
    super(message, true, undefined, 'timeout');
  }
}

/** The engine refused the request for a reason that retrying will not fix. */
export class SearchEngineRequestError extends SearchEngineError {
  constructor(message: string, statusCode?: number, type?: string) {
    super(message, false, statusCode, type);
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
    );
  }
  return isRetryableStatus(status)
    ? new SearchEngineUnavailableError(`search engine answered ${status}: ${reason}`, status, type)
    : new SearchEngineRequestError(
        `search engine refused the request (${status}): ${reason}`,
        status,
        type,
      );
}

/** Classifies an HTTP status from the engine. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500 || status === 408;
}
