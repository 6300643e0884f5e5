import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { SearchEngineError } from '@searchsync/search-engine';
import type { Response } from 'express';
import { ApiError } from './api.errors';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The one place errors become HTTP: `{ statusCode, error, message }`. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    let statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'internal error';
    if (exception instanceof ApiError) {
      statusCode = exception.statusCode;
      message = exception.message;
    } else if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      const body = exception.getResponse();
      const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      message = Array.isArray(raw)
        ? raw.join('; ')
        : typeof raw === 'string'
          ? raw
          : exception.message;
    } else if (exception instanceof SearchEngineError) {
      if (exception.retryable) {
        statusCode = HttpStatus.SERVICE_UNAVAILABLE;
        message = 'search engine unavailable; retry later';
        response.setHeader('Retry-After', '5');
      } else {
        statusCode = HttpStatus.BAD_REQUEST;
        message = 'the search engine rejected the query';
      }
      this.logger.warn(exception.message);
    } else {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    response
      .status(statusCode)
      .json({ statusCode, error: REASONS[statusCode] ?? 'Error', message });
  }
}
