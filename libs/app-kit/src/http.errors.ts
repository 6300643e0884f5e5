export interface HttpErrorOptions extends ErrorOptions {
  /** Fields answered beside `statusCode`, `error` and `message` (e.g. per-key validation errors). */
  details?: Record<string, unknown>;
  /** Response headers the answer needs (`WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
}

/**
 * An error an app raises on purpose that knows its HTTP answer; `mapHttpError` answers it as it
 * says. The message is for the caller: say what to do.
 */
export abstract class HttpError extends Error {
  abstract readonly statusCode: number;
  readonly details?: Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, options: HttpErrorOptions = {}) {
    const { details, headers, ...errorOptions } = options;
    super(message, errorOptions);
    this.name = new.target.name;
    this.details = details;
    this.headers = headers ?? {};
  }
}

/** No key, or one that is not ours: 401 with `WWW-Authenticate: Bearer`. */
export class ApiKeyUnauthenticatedError extends HttpError {
  readonly statusCode = 401;
  constructor(message: string) {
    super(message, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}

/** A known key (or client) that may not do this: 403. */
export class ApiKeyForbiddenError extends HttpError {
  readonly statusCode = 403;
}
