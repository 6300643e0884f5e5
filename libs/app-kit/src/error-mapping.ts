import { STATUS_CODES } from 'node:http';
import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
  type LoggerService,
} from '@nestjs/common';
import {
  SearchEngineError,
  SearchEngineNotFoundError,
  SearchEngineTimeoutError,
} from '@searchsync/search-engine';
import type { Response } from 'express';
import { HttpError } from './http.errors';
import { redactSecrets, redactValue } from './log-redaction';

/** The error contract of every app: `{ statusCode, error, message }`, plus an app's own fields. */
export interface HttpErrorBody {
  statusCode: number;
  /** The status text of `node:http` (`Not Found`). */
  error: string;
  message: string;
  [field: string]: unknown;
}

export interface MappedHttpError {
  body: HttpErrorBody;
  headers: Record<string, string>;
  /** What the log gets: the answer hides internals (stack, the engine's words), the log keeps them. */
  log?: { level: 'warn' | 'error'; message: string; error?: unknown };
}

/** An app's own mapping for errors of its domain; `undefined` leaves the error to the shared rules. */
export type ErrorMappingRule = (exception: unknown) => MappedHttpError | undefined;

/** The body for a status; the message and any extra field redacted, the contract fields kept. */
export function httpErrorBody(
  statusCode: number,
  message: string,
  details: Record<string, unknown> = {},
): HttpErrorBody {
  const body: HttpErrorBody = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: redactSecrets(message),
  };
  for (const [field, value] of Object.entries(details)) {
    if (!(field in body)) body[field] = redactValue(value);
  }
  return body;
}

function mapped(
  statusCode: number,
  message: string,
  extra: Partial<Omit<MappedHttpError, 'body'>> & { details?: Record<string, unknown> } = {},
): MappedHttpError {
  return {
    body: httpErrorBody(statusCode, message, extra.details),
    headers: extra.headers ?? {},
    ...(extra.log ? { log: extra.log } : {}),
  };
}

function messageOf(exception: unknown): string {
  return exception instanceof Error ? exception.message : String(exception);
}

/**
 * Search engine failures, the same in every app: a timeout 504, too many buckets 400, a missing
 * index 404, an outage 503 with `Retry-After`, a request the engine refused as malformed 400, any
 * other refusal (credentials, a conflict) 502. The engine's own words go to the log only: they
 * name indices and internals.
 */
export function mapSearchEngineError(exception: SearchEngineError): MappedHttpError {
  const log = { level: 'warn' as const, message: exception.message };
  if (exception instanceof SearchEngineTimeoutError) {
    return mapped(
      HttpStatus.GATEWAY_TIMEOUT,
      'the search engine did not answer in time; retry later or narrow the query',
      { log },
    );
  }
  if (exception.type === 'too_many_buckets_exception') {
    return mapped(
      HttpStatus.BAD_REQUEST,
      'an aggregation would produce too many buckets; use a larger interval or fewer ranges',
      { log },
    );
  }
  if (
    exception instanceof SearchEngineNotFoundError ||
    exception.statusCode === 404 ||
    exception.type === 'index_not_found_exception'
  ) {
    return mapped(
      HttpStatus.NOT_FOUND,
      'the table is no longer synced; GET /v1/tables lists the synced tables',
      { log },
    );
  }
  if (exception.retryable) {
    return mapped(HttpStatus.SERVICE_UNAVAILABLE, 'search engine unavailable; retry later', {
      headers: { 'Retry-After': '5' },
      log,
    });
  }
  if (exception.statusCode === 400) {
    return mapped(HttpStatus.BAD_REQUEST, 'the search engine rejected the query', { log });
  }
  return mapped(
    HttpStatus.BAD_GATEWAY,
    'the search engine refused the request; the log has its reason',
    { log },
  );
}

/** Errors of the body parser and other HTTP middleware carry their status and a type. */
interface MiddlewareError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
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

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  if (Array.isArray(raw)) return raw.map(String).join('; ');
  return typeof raw === 'string' ? raw : exception.message;
}

/**
 * The one mapping of errors to HTTP answers: an app's own rules first, then typed errors
 * (`HttpError`: their status, message, fields and headers), Nest's HTTP exceptions, search engine
 * failures, the body parser's refusals; anything else is a 500 `internal error` whose details only
 * the log gets. Messages are redacted.
 */
export function mapHttpError(exception: unknown, rules: ErrorMappingRule[] = []): MappedHttpError {
  for (const rule of rules) {
    const answer = rule(exception);
    if (answer) return answer;
  }
  if (exception instanceof HttpError) {
    return mapped(exception.statusCode, exception.message, {
      details: exception.details,
      headers: { ...exception.headers },
      ...(exception.statusCode >= 500
        ? { log: { level: 'error', message: exception.message, error: exception } }
        : {}),
    });
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    return mapped(statusCode, httpExceptionMessage(exception), {
      headers: statusCode === 429 ? { 'Retry-After': '1' } : {},
      ...(statusCode >= 500
        ? { log: { level: 'error', message: exception.message, error: exception } }
        : {}),
    });
  }
  if (exception instanceof SearchEngineError) return mapSearchEngineError(exception);
  const status = middlewareStatus(exception);
  if (status !== undefined) {
    const type = (exception as MiddlewareError).type;
    return mapped(
      status,
      (typeof type === 'string' ? MIDDLEWARE_MESSAGES[type] : undefined) ??
        'the request is not valid',
    );
  }
  return mapped(HttpStatus.INTERNAL_SERVER_ERROR, 'internal error', {
    log: { level: 'error', message: messageOf(exception), error: exception },
  });
}

/** Writes the mapped answer (unless a response already began) and its log line. */
export function sendHttpError(
  response: Response,
  answer: MappedHttpError,
  logger: Pick<LoggerService, 'warn' | 'error'>,
): void {
  if (answer.log) {
    // An error goes as itself: the logger writes its stack and causes.
    const { level, message, error } = answer.log;
    logger[level](error instanceof Error ? error : message);
  }
  if (response.headersSent) return;
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  response.status(answer.body.statusCode).json(answer.body);
}

/**
 * The exception filter of every app (`APP_FILTER`): an app extends it with its own rules only.
 * In a request, its log lines carry the request id.
 */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  constructor(private readonly rules: ErrorMappingRule[] = []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    sendHttpError(
      host.switchToHttp().getResponse<Response>(),
      mapHttpError(exception, this.rules),
      this.logger,
    );
  }
}
