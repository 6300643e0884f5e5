import { bulkLine, classifyBulkItem, isMissingIndex, putMappingTolerant } from './engine-common';
import { TIEBREAK_FIELD } from './engine-dialect';
import {
  SearchEngineNotFoundError,
  SearchEngineRequestError,
  engineResponseError,
} from './search-engine.errors';

/** Item answers as OpenSearch 2.19 gave them on the local stack (bulk `items[].index`). */
const NO_ALIAS = {
  status: 404,
  error: {
    type: 'index_not_found_exception',
    reason:
      'no such index [searchsync.public.gone] and [require_alias] request flag is [true] and [searchsync.public.gone] is not an alias',
  },
};
const NO_INDEX_FOR_DELETE = {
  status: 404,
  error: { type: 'index_not_found_exception', reason: 'no such index [searchsync.public.gone]' },
};

describe('bulkLine', () => {
  it('requires an alias for index actions, so a deleted index is never auto-created', () => {
    const line = bulkLine({ type: 'index', index: 'a', id: '1', version: 2n ** 63n, document: {} });
    expect(line).toBe(
      `{"index":{"_index":"a","_id":"1","version":9223372036854775808,"version_type":"external_gte","require_alias":true}}\n{"${TIEBREAK_FIELD}":"1"}\n`,
    );
    expect(JSON.parse(line.split('\n')[0])).toMatchObject({ index: { require_alias: true } });
  });

  it('appends the tie-break field (the id) to every document, keeping the JSON exact', () => {
    const document = { a: 1, nested: { b: [1, 'x"y'] }, n: null };
    const line = bulkLine({ type: 'index', index: 'a', id: 'k"1\\', version: 1n, document });
    const sent = JSON.parse(line.split('\n')[1]);
    expect(sent).toEqual({ ...document, [TIEBREAK_FIELD]: 'k"1\\' });
    expect(Object.keys(sent)).toEqual(['a', 'nested', 'n', TIEBREAK_FIELD]);
    // Never a duplicate key, even for a document that (impossibly) carries the field.
    const odd = bulkLine({
      type: 'index',
      index: 'a',
      id: '2',
      version: 1n,
      document: { [TIEBREAK_FIELD]: 'x' },
    });
    expect(odd.split('\n')[1]).toBe(`{"${TIEBREAK_FIELD}":"2"}`);
  });

  it('leaves deletes without it (a delete never creates an index)', () => {
    expect(bulkLine({ type: 'delete', index: 'a', id: '1', version: 3n })).toBe(
      '{"delete":{"_index":"a","_id":"1","version":3,"version_type":"external_gte"}}\n',
    );
  });
});

describe('classifyBulkItem', () => {
  it('gives a write to a missing alias its own outcome', () => {
    expect(classifyBulkItem(NO_ALIAS, 'index')).toMatchObject({
      status: 404,
      outcome: 'missing_index',
      type: 'index_not_found_exception',
    });
  });

  it('counts a delete in a missing index as applied: nothing is left to delete', () => {
    expect(classifyBulkItem(NO_INDEX_FOR_DELETE, 'delete').outcome).toBe('applied');
    expect(classifyBulkItem({ status: 200 }, 'delete').outcome).toBe('applied');
  });

  it.each([
    [
      'a flood-stage read-only block (429)',
      {
        status: 429,
        error: {
          type: 'cluster_block_exception',
          reason:
            'index [searchsync.public.x.v1] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
        },
      },
    ],
    [
      'an index write block (403)',
      {
        status: 403,
        error: {
          type: 'cluster_block_exception',
          reason: 'index [x] blocked by: [FORBIDDEN/8/index write (api)];',
        },
      },
    ],
    [
      'a closed index',
      { status: 400, error: { type: 'index_closed_exception', reason: 'closed' } },
    ],
    [
      'refused credentials',
      { status: 401, error: { type: 'security_exception', reason: 'missing credentials' } },
    ],
    ['a forbidden write', { status: 403, error: { type: 'some_exception', reason: 'no' } }],
  ])('calls %s blocked, never rejected', (_, item) => {
    expect(classifyBulkItem(item, 'index').outcome).toBe('blocked');
  });

  it('names the cause of a refusal in the reason', () => {
    const result = classifyBulkItem(
      {
        status: 400,
        error: {
          type: 'mapper_parsing_exception',
          reason: "failed to parse field [n] of type [long] in document with id '1'",
          caused_by: {
            type: 'illegal_argument_exception',
            reason: 'Value [1e+20] is out of range for a long',
          },
        },
      },
      'index',
    );
    expect(result).toEqual({
      status: 400,
      outcome: 'rejected',
      type: 'mapper_parsing_exception',
      reason:
        "mapper_parsing_exception: failed to parse field [n] of type [long] in document with id '1' (caused by illegal_argument_exception: Value [1e+20] is out of range for a long)",
    });
  });

  it('keeps 5xx and throttling retryable, version conflicts stale', () => {
    expect(classifyBulkItem({ status: 503, error: { type: 'x' } }, 'index').outcome).toBe(
      'retryable',
    );
    expect(
      classifyBulkItem({ status: 429, error: { type: 'es_rejected_execution_exception' } }, 'index')
        .outcome,
    ).toBe('retryable');
    expect(classifyBulkItem({ status: 409, error: { reason: 'v' } }, 'index').outcome).toBe(
      'stale',
    );
  });
});

describe('putMappingTolerant', () => {
  const refusal = (field: string) =>
    new SearchEngineRequestError(
      `mapper [${field}] cannot be changed`,
      400,
      'illegal_argument_exception',
    );

  it('maps the fields it can, then throws a typed mapping_refused (400) naming the others', async () => {
    const put = jest.fn((properties: Record<string, unknown>) =>
      'bad' in properties ? Promise.reject(refusal('bad')) : Promise.resolve(),
    );
    const failure = putMappingTolerant(
      { good: { type: 'long' }, bad: { type: 'keyword' } },
      put,
      (error) => error instanceof SearchEngineRequestError && error.statusCode === 400,
    );
    await expect(failure).rejects.toMatchObject({
      statusCode: 400,
      type: 'mapping_refused',
      retryable: false,
      message: expect.stringMatching(/mapping of bad refused/),
    });
    expect(put).toHaveBeenCalledWith({ good: { type: 'long' } });
  });
});

describe('isMissingIndex', () => {
  it('tells a missing index from a missing document', () => {
    const index = engineResponseError(
      404,
      {
        error: { root_cause: [{ type: 'index_not_found_exception', reason: 'no such index [a]' }] },
      },
      'x',
    );
    expect(index).toBeInstanceOf(SearchEngineNotFoundError);
    expect(isMissingIndex(index)).toBe(true);
    expect(isMissingIndex(engineResponseError(404, { found: false }, 'Not Found'))).toBe(false);
  });
});
