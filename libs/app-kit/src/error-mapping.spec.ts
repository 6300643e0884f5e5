import {
  BadRequestException,
  HttpException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  engineResponseError,
  SearchEngineClientError,
  SearchEngineRequestError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from '@searchsync/search-engine';
import type { Response } from 'express';
import { mapHttpError, sendHttpError, type ErrorMappingRule } from './error-mapping';
import { ApiKeyUnauthenticatedError, HttpError } from './http.errors';

class ThingMissingError extends HttpError {
  readonly statusCode = 404;
}

class ThingInvalidError extends HttpError {
  readonly statusCode = 400;
  constructor(errors: { key: string; message: string }[]) {
    super('the thing is invalid', { details: { errors, statusCode: 999 } });
  }
}

const status = (exception: unknown) => mapHttpError(exception).body.statusCode;

describe('mapHttpError', () => {
  it('answers typed errors with their status, the status text of node:http, fields and headers', () => {
    expect(mapHttpError(new ThingMissingError('no thing "x"; GET /things lists them'))).toEqual({
      body: {
        statusCode: 404,
        error: 'Not Found',
        message: 'no thing "x"; GET /things lists them',
      },
      headers: {},
    });
    // Extra fields never replace the contract's own.
    expect(mapHttpError(new ThingInvalidError([{ key: 'a', message: 'b' }])).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the thing is invalid',
      errors: [{ key: 'a', message: 'b' }],
    });
    expect(mapHttpError(new ApiKeyUnauthenticatedError('a key is required'))).toEqual({
      body: { statusCode: 401, error: 'Unauthorized', message: 'a key is required' },
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  });

  it('answers Nest HTTP exceptions with their message; 429 with Retry-After, 5xx logged', () => {
    expect(mapHttpError(new BadRequestException(['a is wrong', 'b is wrong'])).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'a is wrong; b is wrong',
    });
    expect(mapHttpError(new NotFoundException('Cannot GET /x')).body.message).toBe('Cannot GET /x');
    expect(mapHttpError(new HttpException('slow down', 429))).toMatchObject({
      body: { statusCode: 429, error: 'Too Many Requests' },
      headers: { 'Retry-After': '1' },
    });
    const down = mapHttpError(new ServiceUnavailableException({ status: 'not_consuming' }));
    expect(down.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(down.log?.level).toBe('error');
    expect(mapHttpError(new HttpException('no', 422)).body.error).toBe('Unprocessable Entity');
  });

  it('answers every search engine failure the same way, its own words only in the log', () => {
    const cases: [unknown, number, string][] = [
      [new SearchEngineTimeoutError('no answer from http://u:p@es'), 504, 'did not answer in time'],
      [
        engineResponseError(503, { error: { type: 'too_many_buckets_exception' } }, 'x'),
        400,
        'too many buckets',
      ],
      [
        engineResponseError(404, { error: { type: 'index_not_found_exception' } }, 'x'),
        404,
        'no longer synced',
      ],
      [new SearchEngineUnavailableError('connect ECONNREFUSED'), 503, 'unavailable; retry later'],
      [new SearchEngineClientError('socket hang up'), 503, 'unavailable; retry later'],
      [
        engineResponseError(400, { error: { type: 'parsing_exception' } }, 'x'),
        400,
        'rejected the query',
      ],
      [
        engineResponseError(403, { error: { type: 'security_exception' } }, 'x'),
        502,
        'refused the request',
      ],
      [new SearchEngineRequestError('not Elasticsearch'), 502, 'refused the request'],
    ];
    for (const [error, statusCode, message] of cases) {
      const answer = mapHttpError(error);
      expect(answer.body).toEqual({
        statusCode,
        error: expect.any(String),
        message: expect.stringContaining(message),
      });
      expect(answer.log).toEqual({ level: 'warn', message: (error as Error).message });
      expect(JSON.stringify(answer.body)).not.toContain((error as Error).message);
    }
    expect(mapHttpError(new SearchEngineUnavailableError('down')).headers).toEqual({
      'Retry-After': '5',
    });
  });

  it("answers the body parser's refusals with their 4xx and a plain message", () => {
    const parse = Object.assign(new SyntaxError('Unexpected token'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    expect(mapHttpError(parse).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the request body is not valid JSON',
    });
    const large = Object.assign(new Error('request entity too large'), {
      statusCode: 413,
      type: 'entity.too.large',
    });
    expect(mapHttpError(large).body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(mapHttpError({ status: 415, type: 'whatever' }).body.message).toBe(
      'the request is not valid',
    );
  });

  it('answers anything else 500 "internal error", the details to the log only', () => {
    const bug = new TypeError('cannot read x of undefined at postgres://app:pw@db');
    const answer = mapHttpError(bug);
    expect(answer.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
    });
    expect(answer.log).toEqual({ level: 'error', message: bug.message, error: bug });
    expect(status('a string')).toBe(500);
    expect(status({ status: 503 })).toBe(500);
  });

  it('redacts secrets in messages and fields', () => {
    class Leaky extends HttpError {
      readonly statusCode = 400;
    }
    const answer = mapHttpError(
      new Leaky('cannot use postgres://app:hunter2@db: password=hunter2', {
        details: { errors: [{ key: 'database.password', message: 'password=hunter2 is wrong' }] },
      }),
    );
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
  });

  it("tries an app's rules first", () => {
    const rule: ErrorMappingRule = (exception) =>
      exception instanceof RangeError
        ? {
            body: { statusCode: 422, error: 'Unprocessable Entity', message: 'out of range' },
            headers: {},
          }
        : undefined;
    expect(mapHttpError(new RangeError('x'), [rule]).body.statusCode).toBe(422);
    expect(mapHttpError(new ThingMissingError('x'), [rule]).body.statusCode).toBe(404);
  });
});

describe('sendHttpError', () => {
  function response(headersSent = false) {
    const sent: { status?: number; body?: unknown; headers: Record<string, string> } = {
      headers: {},
    };
    const res = {
      headersSent,
      setHeader: (name: string, value: string) => void (sent.headers[name] = value),
      status(code: number) {
        sent.status = code;
        return this;
      },
      json(body: unknown) {
        sent.body = body;
        return this;
      },
    } as unknown as Response;
    return { res, sent };
  }

  it('writes the answer and its headers, and logs what the answer hides', () => {
    const { res, sent } = response();
    const logger = { warn: jest.fn(), error: jest.fn() };
    const bug = new Error('bug');
    sendHttpError(res, mapHttpError(bug), logger);
    expect(sent).toEqual({
      status: 500,
      body: { statusCode: 500, error: 'Internal Server Error', message: 'internal error' },
      headers: {},
    });
    expect(logger.error).toHaveBeenCalledWith(bug);

    const limited = response();
    sendHttpError(limited.res, mapHttpError(new HttpException('x', 429)), logger);
    expect(limited.sent.headers).toEqual({ 'Retry-After': '1' });
  });

  it('only logs once a response has begun', () => {
    const { res, sent } = response(true);
    const logger = { warn: jest.fn(), error: jest.fn() };
    sendHttpError(res, mapHttpError(new SearchEngineUnavailableError('down')), logger);
    expect(sent.status).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith('down');
  });
});
