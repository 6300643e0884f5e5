import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { ConnectError, ConnectorTemplateError, redactText } from '@searchsync/connect-client';
import { SearchEngineError } from '@searchsync/search-engine';
import type { Response } from 'express';
import { AdminError } from './admin.errors';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

interface Mapped {
  statusCode: number;
  message: string;
  details?: Record<string, unknown>;
}

function map(exception: unknown): Mapped | null {
  if (exception instanceof AdminError) {
    return {
      statusCode: exception.statusCode,
      message: exception.message,
      details: exception.details,
    };
  }
  if (exception instanceof HttpException) {
    return { statusCode: exception.getStatus(), message: exception.message };
  }
  if (exception instanceof ConnectError) {
    const status = exception.statusCode;
    let statusCode: number;
    if (status === 404 || status === 400 || status === 501) statusCode = status;
    else if (exception.retryable) statusCode = 503;
    else statusCode = 502;
    return { statusCode, message: exception.message };
  }
  if (exception instanceof ConnectorTemplateError) {
    return { statusCode: 400, message: exception.message };
  }
  if (exception instanceof SearchEngineError) {
    return { statusCode: exception.retryable ? 503 : 502, message: exception.message };
  }
  return null;
}

/** The one place errors become HTTP: `{ statusCode, error, message }`, secrets redacted. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const mapped = map(exception);
    if (!mapped) {
      this.logger.error(
        redactText(
          exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
        ),
      );
    }
    const statusCode = mapped?.statusCode ?? HttpStatus.INTERNAL_SERVER_ERROR;
    const body = {
      statusCode,
      error: REASON[statusCode] ?? 'Error',
      message: redactText(mapped?.message ?? 'internal error'),
      ...(mapped?.details ?? {}),
    };
    response.status(statusCode).json(body);
  }
}
