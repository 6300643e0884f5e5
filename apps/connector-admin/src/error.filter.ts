import { Catch, HttpStatus } from '@nestjs/common';
import { AppErrorFilter, httpErrorBody, type ErrorMappingRule } from '@searchsync/app-kit';
import { ConnectError, ConnectorTemplateError } from '@searchsync/connect-client';

/**
 * Kafka Connect / MSK Connect failures: its 400, 404 and 501 are the caller's answer, an outage or
 * a rebalance 503 (retry), anything else it refused 502. Its messages are redacted already.
 */
const connectFailure: ErrorMappingRule = (exception) => {
  if (exception instanceof ConnectorTemplateError) {
    return { body: httpErrorBody(HttpStatus.BAD_REQUEST, exception.message), headers: {} };
  }
  if (!(exception instanceof ConnectError)) return undefined;
  const status = exception.statusCode;
  const statusCode: number =
    status === 404 || status === 400 || status === 501 ? status : exception.retryable ? 503 : 502;
  return {
    body: httpErrorBody(statusCode, exception.message),
    headers: {},
    ...(statusCode >= 500 ? { log: { level: 'warn', message: exception.message } } : {}),
  };
};

/**
 * The admin's answers to errors: app-kit's one mapping (typed errors with their details, search
 * engine failures the same as in the API, 500 `internal error` otherwise), with the connector
 * backend's own rule first. Secrets are redacted in every message and log line.
 */
@Catch()
export class ErrorFilter extends AppErrorFilter {
  constructor() {
    super([connectFailure]);
  }
}
