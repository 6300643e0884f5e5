import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { ConnectError } from '@searchsync/connect-client';
import type { Response } from 'express';

/** The one place errors become HTTP: `{ statusCode, error, message }`, secrets already redacted. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    let statusCode: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let error = 'Internal Server Error';
    let message = 'internal error';
    if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      error = exception.name;
      message = exception.message;
    } else if (exception instanceof ConnectError) {
      if (exception.statusCode === 404) {
        statusCode = 404;
        error = 'Not Found';
      } else if (exception.retryable) {
        statusCode = 503;
        error = 'Service Unavailable';
      } else {
        statusCode = 502;
        error = 'Bad Gateway';
      }
      message = exception.message;
    } else {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    response.status(statusCode).json({ statusCode, error, message });
  }
}
