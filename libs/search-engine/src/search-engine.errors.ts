/** Base of every search-engine failure; `retryable` tells callers whether to back off and retry. */
export class SearchEngineError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The engine cannot be reached or answered 429/5xx. */
export class SearchEngineUnavailableError extends SearchEngineError {
  constructor(message: string, statusCode?: number) {
    super(message, true, statusCode);
  }
}

/** The engine refused the request for a reason that retrying will not fix. */
export class SearchEngineRequestError extends SearchEngineError {
  constructor(message: string, statusCode?: number) {
    super(message, false, statusCode);
  }
}

/** Classifies an HTTP status from the engine. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500 || status === 408;
}
