import { mapSearchEngineError } from '@searchsync/app-kit';
import {
  engineResponseError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
} from '@searchsync/search-engine';
import { ConsistencyTimeoutError, type ConsistencyLag } from '@searchsync/stream-position';
import { TableAccessDeniedError, TableNotFoundError } from './api.errors';
import { errorResponse } from './error.filter';

describe('the API error answers', () => {
  it('keep the contract: exactly statusCode, error, message', () => {
    for (const error of [
      new TableNotFoundError('nope'),
      new TableAccessDeniedError('reader', 'public.products'),
      new Error('bug'),
    ]) {
      expect(Object.keys(errorResponse(error).body).sort()).toEqual([
        'error',
        'message',
        'statusCode',
      ]);
    }
    expect(errorResponse(new TableAccessDeniedError('reader', 'orders')).body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'API key "reader" may not read table "orders"',
    });
  });

  it('answer search engine failures with the shared mapping (the same as the admin)', () => {
    for (const error of [
      new SearchEngineTimeoutError('slow'),
      new SearchEngineUnavailableError('down'),
      engineResponseError(400, { error: { type: 'parsing_exception' } }, 'x'),
    ]) {
      expect(errorResponse(error)).toEqual(mapSearchEngineError(error));
    }
  });

  it('answer a consistentWith timeout 504 with the lag', () => {
    const lag: ConsistencyLag = { stage: 'refresh', lsn: '0/16B3748' };
    const answer = errorResponse(new ConsistencyTimeoutError(lag, 500));
    expect(answer.body).toMatchObject({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: expect.stringMatching(/; retry, or read without consistentWith$/),
      lag,
    });
  });
});
