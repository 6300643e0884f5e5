import {
  ChangeEventDecodeError,
  TableWithoutKeyError,
  type DeadLetterClass,
} from '@searchsync/change-events';

export { DEAD_LETTER_CLASSES, type DeadLetterClass } from '@searchsync/change-events';

export interface DeadLetterReason {
  class: DeadLetterClass;
  /** What went wrong and what to do about it, for a person reading the dead letter. */
  message: string;
}

const REPLAY = 'then replay the dead letter (or discard it)';

const FIX: Record<DeadLetterClass, string> = {
  decode_error: `fix: the record is not a Debezium change event in Connect JSON with schemas (key and value converters with schemas.enable=true); correct whatever produced it to the table topic, ${REPLAY}`,
  value_out_of_range: `fix: a value is outside what the indexer or the index can represent; change the value in PostgreSQL (or upgrade the indexer if the value is legal there), ${REPLAY}`,
  mapping_conflict: `fix: the document does not fit the table's index mapping (a column changed type, or values of incompatible shapes); resync the table (POST /v1/tables/{table}/resync on the admin) to rebuild its index, ${REPLAY}`,
  too_large: `fix: the document or one of its values exceeds the engine's limits (http.max_content_length, a term's 32766-byte limit, index.mapping.total_fields.limit); shrink the value, exclude the column from the connector, or raise the engine's limit, ${REPLAY}`,
  table_without_key: `fix: the table has no primary key; add one (ALTER TABLE … ADD PRIMARY KEY), ${REPLAY}`,
  rejected: `fix: the search engine refused the document for the reason above; correct the cause, ${REPLAY}`,
  conversion_error: `fix: the indexer could not turn a value of this row into a document (an indexer defect for this value); report it with this dead letter, upgrade the indexer, ${REPLAY}`,
};

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-error thrown: ${String(error)}`;
}

/** Whether an error reached us from converting one field of the row (its message names it). */
function isFieldError(error: Error): boolean {
  return /^field "/.test(error.message);
}

/**
 * Classifies whatever was thrown while decoding, converting or mapping one record. Any type is
 * accepted on purpose: a `RangeError` from a date or a `TypeError` from an odd payload must become
 * a dead letter like a decode error, never a crashed consumer.
 */
export function classifyRecordError(error: unknown): DeadLetterReason {
  const text = describe(error);
  let kind: DeadLetterClass;
  if (error instanceof TableWithoutKeyError) {
    // Its message already says how to fix it.
    return { class: 'table_without_key', message: error.message };
  } else if (
    error instanceof RangeError &&
    /invalid string length|array length/i.test(error.message)
  ) {
    // The runtime's own limits on a string or an array: the value is simply too big.
    kind = 'too_large';
  } else if (
    error instanceof RangeError ||
    (error instanceof Error && /out of range|overflow|invalid time value/i.test(error.message))
  ) {
    kind = 'value_out_of_range';
  } else if (error instanceof ChangeEventDecodeError) {
    kind = isFieldError(error) ? 'conversion_error' : 'decode_error';
  } else if (error instanceof SyntaxError) {
    // JSON.parse / BigInt of text the record should not have carried.
    kind = 'decode_error';
  } else {
    kind = 'conversion_error';
  }
  return { class: kind, message: `${text}; ${FIX[kind]}` };
}

/** A bulk item (or a whole request) the engine refused, as status, error type and reason. */
export interface EngineRejection {
  status?: number;
  /** `type: reason` as the engine adapter reports it, or a request error's message. */
  reason: string;
  type?: string;
}

const MAPPING_TYPES = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'strict_dynamic_mapping_exception',
  'mapper_exception',
]);

/** Classifies an engine refusal by status and the engine's error type and text. */
export function classifyEngineRejection(rejection: EngineRejection): DeadLetterReason {
  const { status, reason } = rejection;
  const type = rejection.type ?? /^([a-z_]+_exception):/.exec(reason)?.[1];
  let kind: DeadLetterClass;
  if (
    status === 413 ||
    /too large|too_large|max(imum)?[ _]length|content length|immense term|Limit of total fields|exceeds the maximum/i.test(
      reason,
    )
  ) {
    kind = 'too_large';
  } else if (
    /out of range|outside the range|Numeric value .* out of|too (big|small) for/i.test(reason)
  ) {
    kind = 'value_out_of_range';
  } else if (
    (type !== undefined && MAPPING_TYPES.has(type)) ||
    /failed to parse|cannot be changed from type|mapper \[.*\] of different type|can't merge|object mapping .* tried to parse/i.test(
      reason,
    )
  ) {
    kind = 'mapping_conflict';
  } else {
    kind = 'rejected';
  }
  const where = status !== undefined ? ` (${status})` : '';
  return {
    class: kind,
    message: `search engine refused the document${where}: ${reason}; ${FIX[kind]}`,
  };
}

/**
 * A document the engine failed with a 5xx on every attempt while it accepted other writes: not
 * an outage but something about that document, so it is set aside instead of stalling its
 * partition forever.
 */
export function persistentEngineFailure(
  status: number,
  reason: string,
  attempts: number,
): DeadLetterReason {
  return {
    class: 'rejected',
    message: `search engine failed the document (${status}) on ${attempts} attempts while it accepted other writes: ${reason}; ${FIX.rejected}`,
  };
}
