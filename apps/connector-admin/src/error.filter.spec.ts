import { Logger, type ArgumentsHost } from '@nestjs/common';
import { mapSearchEngineError } from '@searchsync/app-kit';
import {
  ConnectConflictError,
  ConnectNotFoundError,
  ConnectRequestError,
  ConnectUnavailableError,
} from '@searchsync/connect-client';
import {
  engineResponseError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from '@searchsync/search-engine';
import { ConnectorInvalidError, DependencyUnavailableError } from './admin.errors';
import { ErrorFilter } from './error.filter';

/** What the filter answers for an exception: status, headers, body. */
function answer(exception: unknown) {
  const sent: { status?: number; body?: unknown; headers: Record<string, string> } = {
    headers: {},
  };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => void (sent.headers[name] = value),
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response }),
  } as unknown as ArgumentsHost;
  new ErrorFilter().catch(exception, host);
  return sent;
}

describe('the admin error answers', () => {
  // What the filter logs is app-kit's to test; these answers are the admin's.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  });

  it('keep the typed errors’ fields beside the contract', () => {
    expect(
      answer(new ConnectorInvalidError([{ key: 'database.port', message: 'integer' }])),
    ).toEqual({
      status: 400,
      headers: {},
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: 'connector config is invalid: database.port: integer',
        valid: false,
        errors: [{ key: 'database.port', message: 'integer' }],
      },
    });
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:9092');
    const unavailable = new DependencyUnavailableError('Kafka', cause.message, cause);
    expect(unavailable.cause).toBe(cause);
    expect(answer(unavailable).body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Kafka unavailable: connect ECONNREFUSED 127.0.0.1:9092',
    });
  });

  it('answer Kafka Connect failures by their kind', () => {
    expect(answer(new ConnectNotFoundError('no connector x')).status).toBe(404);
    expect(answer(new ConnectRequestError('bad config', 400)).status).toBe(400);
    expect(answer(new ConnectConflictError('rebalance is expected')).status).toBe(503);
    expect(answer(new ConnectUnavailableError('ECONNREFUSED')).status).toBe(503);
    expect(answer(new ConnectRequestError('refused', 403)).status).toBe(502);
  });

  it('answer search engine failures exactly as the API does (the shared mapping)', () => {
    for (const error of [
      new SearchEngineTimeoutError('slow'),
      new SearchEngineUnavailableError('down'),
      engineResponseError(404, { error: { type: 'index_not_found_exception' } }, 'x'),
      engineResponseError(403, { error: { type: 'security_exception' } }, 'x'),
    ]) {
      const expected = mapSearchEngineError(error);
      expect(answer(error)).toEqual({
        status: expected.body.statusCode,
        headers: expected.headers,
        body: expected.body,
      });
    }
  });

  it('never answers a secret', () => {
    const sent = answer(
      new ConnectRequestError('Connector config {"database.password":"hunter2"} is invalid', 400),
    );
    expect(JSON.stringify(sent)).not.toContain('hunter2');
    expect(answer(new Error('postgres://app:hunter2@db')).body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
    });
  });
});
