import { Catch, HttpStatus } from '@nestjs/common';
import {
  AppErrorFilter,
  httpErrorBody,
  mapHttpError,
  type ErrorMappingRule,
  type HttpErrorBody,
  type MappedHttpError,
} from '@searchsync/app-kit';
import { ConsistencyTimeoutError, type ConsistencyLag } from '@searchsync/stream-position';

export interface ErrorBody extends HttpErrorBody {
  /** A consistentWith read that timed out: which step held it. */
  lag?: ConsistencyLag;
}

/** The API's own rule: a consistentWith read that timed out is a 504 that says what held it. */
const consistencyTimeout: ErrorMappingRule = (exception) =>
  exception instanceof ConsistencyTimeoutError
    ? {
        body: httpErrorBody(
          HttpStatus.GATEWAY_TIMEOUT,
          `${exception.message}; retry, or read without consistentWith`,
          { lag: exception.lag },
        ),
        headers: {},
      }
    : undefined;

const API_RULES = [consistencyTimeout];

/**
 * Any exception as the API answers it: `{ statusCode, error, message }` (app-kit's one mapping,
 * shared with the admin) — 401 with `WWW-Authenticate`, 429 and 503 with `Retry-After`.
 */
export function errorResponse(exception: unknown): MappedHttpError {
  return mapHttpError(exception, API_RULES);
}

@Catch()
export class ErrorFilter extends AppErrorFilter {
  constructor() {
    super(API_RULES);
  }
}
