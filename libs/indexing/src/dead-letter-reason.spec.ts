import { ChangeEventDecodeError, TableWithoutKeyError } from '@searchsync/change-events';
import {
  DEAD_LETTER_CLASSES,
  classifyEngineRejection,
  classifyRecordError,
  type DeadLetterClass,
} from './dead-letter-reason';

describe('classifyRecordError', () => {
  const cases: [string, unknown, DeadLetterClass][] = [
    [
      'a record that is not JSON',
      new ChangeEventDecodeError('record value is not JSON: x'),
      'decode_error',
    ],
    [
      'a record without the envelope',
      new ChangeEventDecodeError('record value has no "schema"/"payload" envelope: set …'),
      'decode_error',
    ],
    [
      'a field the converter refuses',
      new ChangeEventDecodeError('field "at": expected a number, got string'),
      'conversion_error',
    ],
    [
      'an invalid date (infinity timestamp)',
      new RangeError('Invalid time value'),
      'value_out_of_range',
    ],
    [
      'a BigInt of a fraction',
      new RangeError('The number 1.5 cannot be converted to a BigInt'),
      'value_out_of_range',
    ],
    ['a string beyond the runtime limit', new RangeError('Invalid string length'), 'too_large'],
    [
      'a TypeError from an odd payload',
      new TypeError("Cannot read properties of null (reading 'fields')"),
      'conversion_error',
    ],
    [
      'a SyntaxError from BigInt of text',
      new SyntaxError('Cannot convert abc to a BigInt'),
      'decode_error',
    ],
    ['something that is not an Error', 'boom', 'conversion_error'],
    ['a table without a key', new TableWithoutKeyError('public.logs'), 'table_without_key'],
  ];

  it.each(cases)('%s', (_what, error, expected) => {
    const reason = classifyRecordError(error);
    expect(reason.class).toBe(expected);
    expect(DEAD_LETTER_CLASSES).toContain(reason.class);
  });

  it('says what happened and what to do', () => {
    const reason = classifyRecordError(new RangeError('Invalid time value'));
    expect(reason.message).toBe(
      'RangeError: Invalid time value; fix: a value is outside what the indexer or the index can represent; change the value in PostgreSQL (or upgrade the indexer if the value is legal there), then replay the dead letter (or discard it)',
    );
    expect(classifyRecordError(new TableWithoutKeyError('public.logs')).message).toMatch(
      /public\.logs has no primary key/,
    );
  });
});

describe('classifyEngineRejection', () => {
  // Reasons as OpenSearch 2.19 answers them for a bulk item (type: reason [(caused by …)]).
  const cases: [string, { status?: number; reason: string; type?: string }, DeadLetterClass][] = [
    [
      'a value that does not parse as the mapped type',
      {
        status: 400,
        reason:
          "mapper_parsing_exception: failed to parse field [n] of type [long] in document with id '0'. Preview of field's value: 'abc'",
      },
      'mapping_conflict',
    ],
    [
      'a number out of the mapped range (with its cause)',
      {
        status: 400,
        reason:
          "mapper_parsing_exception: failed to parse field [n] of type [long] in document with id '1'. Preview of field's value: '1e400' (caused by illegal_argument_exception: Value [1e400] is out of range for a long)",
      },
      'value_out_of_range',
    ],
    [
      'a scalar where the mapping has an object',
      {
        status: 400,
        reason:
          'mapper_parsing_exception: object mapping for [o] tried to parse field [o] as object, but found a concrete value',
      },
      'mapping_conflict',
    ],
    [
      'Elasticsearch 8 naming',
      {
        status: 400,
        reason: 'document_parsing_exception: [1:8] failed to parse field [d] of type [date]',
      },
      'mapping_conflict',
    ],
    [
      'an immense keyword term',
      {
        status: 400,
        reason:
          'illegal_argument_exception: Document contains at least one immense term in field="k" (whose UTF8 encoding is longer than the max length 32766), all of which were skipped.',
      },
      'too_large',
    ],
    [
      'too many fields',
      {
        status: 400,
        reason: 'illegal_argument_exception: Limit of total fields [1000] has been exceeded',
      },
      'too_large',
    ],
    ['a request too large', { status: 413, reason: 'Request Entity Too Large' }, 'too_large'],
    [
      'anything else',
      { status: 400, reason: 'illegal_argument_exception: something we have not seen' },
      'rejected',
    ],
    [
      'a request error with its type',
      {
        status: 400,
        type: 'mapper_parsing_exception',
        reason:
          'search engine refused the request (400): No handler for type [x] declared on field [y]',
      },
      'mapping_conflict',
    ],
  ];

  it.each(cases)('%s', (_what, rejection, expected) => {
    const reason = classifyEngineRejection(rejection);
    expect(reason.class).toBe(expected);
    expect(reason.message).toContain(rejection.reason);
    expect(reason.message).toMatch(/; fix: /);
  });
});
