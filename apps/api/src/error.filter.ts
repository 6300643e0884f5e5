import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { SearchEngineError, SearchEngineTimeoutError } from '@searchsync/search-engine';
import { ConsistencyTimeoutError, type ConsistencyLag } from '@searchsync/stream-position';
import type { Response } from 'express';
import { ApiError } from './api.errors';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** A consistentWith read that timed out: which step held it. */
  lag?: ConsistencyLag;
}

/** Errors of the body parser and other HTTP middleware carry their status and a type. */
interface MiddlewareError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  message?: unknown;
}

function middlewareStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { status, statusCode } = exception as MiddlewareError;
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}

const MIDDLEWARE_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'the request body is not valid JSON',
  'entity.too.large': 'the request body is too large',
  'encoding.unsupported': 'unsupported request body encoding',
  'charset.unsupported': 'unsupported request body charset',
  'request.aborted': 'the request was aborted',
};

/** Maps any exception to `{ statusCode, error, message }`; the only place errors become HTTP. */
export function errorResponse(
  exception: unknown,
  logger: Logger,
): { body: ErrorBody; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  let statusCode: number = HttpStatus.INTERNAL_SERVER_ERROR;
  let message = 'internal error';
  let lag: ConsistencyLag | undefined;
  if (exception instanceof ConsistencyTimeoutError) {
    statusCode = HttpStatus.GATEWAY_TIMEOUT;
    message = `${exception.message}; retry, or read without consistentWith`;
    lag = exception.lag;
  } else if (exception instanceof ApiError) {
    statusCode = exception.statusCode;
    message = exception.message;
    if (statusCode === 401) headers['WWW-Authenticate'] = 'Bearer';
  } else if (exception instanceof HttpException) {
    statusCode = exception.getStatus();
    const body = exception.getResponse();
    const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    message = Array.isArray(raw)
      ? raw.join('; ')
      : typeof raw === 'string'
        ? raw
        : exception.message;
    if (statusCode === 429) headers['Retry-After'] = '1';
    if (statusCode >= 500) logger.error(exception.stack ?? exception.message);
  } else if (exception instanceof SearchEngineError) {
    if (exception instanceof SearchEngineTimeoutError) {
      statusCode = HttpStatus.GATEWAY_TIMEOUT;
      message = 'the search engine did not answer in time; retry later or narrow the query';
    } else if (exception.type === 'too_many_buckets_exception') {
      statusCode = HttpStatus.BAD_REQUEST;
      message =
        'an aggregation would produce too many buckets; use a larger interval or fewer ranges';
    } else if (exception.statusCode === 404 || exception.type === 'index_not_found_exception') {
      statusCode = HttpStatus.NOT_FOUND;
      message = 'the table is no longer synced; GET /v1/tables lists the synced tables';
    } else if (exception.retryable) {
      statusCode = HttpStatus.SERVICE_UNAVAILABLE;
      message = 'search engine unavailable; retry later';
      headers['Retry-After'] = '5';
    } else {
      statusCode = HttpStatus.BAD_REQUEST;
      message = 'the search engine rejected the query';
    }
    // The engine's own words stay in our logs; they may name indices and internals.
    logger.warn(exception.message);
  } else if (middlewareStatus(exception) !== undefined) {
    statusCode = middlewareStatus(exception) ?? 400;
    const type = (exception as MiddlewareError).type;
    message =
      (typeof type === 'string' ? MIDDLEWARE_MESSAGES[type] : undefined) ??
      'the request is not valid';
  } else {
    logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
  }
  return {
    body: { statusCode, error: REASONS[statusCode] ?? 'Error', message, ...(lag ? { lag } : {}) },
    headers,
  };
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { body, headers } = errorResponse(exception, this.logger);
    if (response.headersSent) return;
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.status(body.statusCode).json(body);
  }
}
