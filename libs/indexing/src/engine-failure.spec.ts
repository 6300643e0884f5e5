import {
  SearchEngineClientError,
  SearchEngineRequestError,
  SearchEngineTimeoutError,
  SearchEngineUnavailableError,
  classifyBulkItem,
  engineResponseError,
} from '@searchsync/search-engine';
import { classifyEngineRejection } from './dead-letter-reason';
import { engineOutage, isDocumentRefusal, itemOutage } from './engine-failure';

/** Error bodies as OpenSearch 2.19 answers them, turned into errors as the adapters do. */
const answered = (status: number, type: string, reason: string) =>
  engineResponseError(status, { error: { root_cause: [{ type, reason }], type, reason } }, 'x');

describe('engineOutage', () => {
  it('reports a client failure without an HTTP answer at once, by its type', () => {
    expect(engineOutage(new SearchEngineClientError('search engine call failed: aborted'))).toEqual(
      { transient: false, reason: expect.stringMatching(/client failure/) },
    );
  });

  it('waits out unavailability and timeouts as transient', () => {
    expect(engineOutage(new SearchEngineUnavailableError('down', 503))).toMatchObject({
      transient: true,
    });
    expect(engineOutage(new SearchEngineTimeoutError('slow'))).toMatchObject({ transient: true });
  });

  it.each([
    [
      answered(
        403,
        'cluster_block_exception',
        'index [x] blocked by: [FORBIDDEN/8/index write (api)];',
      ),
      /403/,
    ],
    [
      answered(
        429,
        'cluster_block_exception',
        'index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
      ),
      /flood-stage/,
    ],
    [answered(400, 'index_closed_exception', 'closed'), /index_closed_exception/],
    [
      answered(401, 'security_exception', 'missing authentication credentials'),
      /credentials refused/,
    ],
  ])('reports a block at once: %s', (error, reason) => {
    expect(engineOutage(error)).toEqual({
      transient: false,
      reason: expect.stringMatching(reason),
    });
  });

  it('says nothing of errors that may be about the data', () => {
    expect(engineOutage(answered(400, 'mapper_parsing_exception', 'failed to parse'))).toBeNull();
    expect(
      engineOutage(new SearchEngineRequestError('mapping of x refused', 400, 'mapping_refused')),
    ).toBeNull();
    // The words alone no longer make a block: only the engine's type or status does.
    expect(
      engineOutage(answered(400, 'illegal_argument_exception', 'field [read_only] blocked by x')),
    ).toBeNull();
    expect(engineOutage(new RangeError('x'))).toBeNull();
  });
});

describe('isDocumentRefusal', () => {
  it('splits for refusals about a document, by the engine type', () => {
    expect(isDocumentRefusal(new SearchEngineRequestError('too large', 413))).toBe(true);
    expect(isDocumentRefusal(answered(400, 'x_content_parse_exception', 'bad json'))).toBe(true);
    expect(
      isDocumentRefusal(answered(400, 'illegal_argument_exception', 'malformed content')),
    ).toBe(true);
  });

  it('never splits for a block, a client failure or an unknown refusal', () => {
    expect(isDocumentRefusal(answered(400, 'index_closed_exception', 'closed'))).toBe(false);
    expect(isDocumentRefusal(new SearchEngineClientError('search engine call failed: x'))).toBe(
      false,
    );
    expect(isDocumentRefusal(answered(400, 'illegal_argument_exception', 'unknown setting'))).toBe(
      false,
    );
  });
});

describe('itemOutage on classified bulk items', () => {
  it('retries blocked items as a block and throttled ones as transient', () => {
    const flood = classifyBulkItem(
      {
        status: 429,
        error: { type: 'cluster_block_exception', reason: 'blocked by: [TOO_MANY_REQUESTS/12/…]' },
      },
      'index',
    );
    expect(itemOutage(flood)).toEqual({
      transient: false,
      reason: expect.stringMatching(/cluster_block/),
    });
    expect(
      itemOutage(
        classifyBulkItem(
          { status: 403, error: { type: 'security_exception', reason: 'no' } },
          'index',
        ),
      ),
    ).toEqual({ transient: false, reason: expect.stringMatching(/writes forbidden \(403\)/) });
    expect(
      itemOutage(
        classifyBulkItem(
          { status: 429, error: { type: 'es_rejected_execution_exception' } },
          'index',
        ),
      ),
    ).toMatchObject({ transient: true });
  });

  it('leaves refused and 5xx items to the caller', () => {
    expect(
      itemOutage(
        classifyBulkItem({ status: 400, error: { type: 'mapper_parsing_exception' } }, 'index'),
      ),
    ).toBeNull();
    expect(itemOutage(classifyBulkItem({ status: 500, error: { type: 'x' } }, 'index'))).toBeNull();
  });
});

describe('a refused item whose cause says the value is out of range', () => {
  it('is dead-lettered as value_out_of_range', () => {
    const item = classifyBulkItem(
      {
        status: 400,
        error: {
          type: 'mapper_parsing_exception',
          reason:
            "failed to parse field [n] of type [long] in document with id '1'. Preview of field's value: '1e20'",
          caused_by: {
            type: 'illegal_argument_exception',
            reason: 'Value [1e20] is out of range for a long',
          },
        },
      },
      'index',
    );
    expect(
      classifyEngineRejection({ status: item.status, reason: item.reason ?? '', type: item.type })
        .class,
    ).toBe('value_out_of_range');
  });
});
