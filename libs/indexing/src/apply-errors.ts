import { SearchEngineError } from '@searchsync/search-engine';
import {
  classifyEngineRejection,
  classifyRecordError,
  type DeadLetterReason,
} from './dead-letter-reason';
import { engineOutage } from './engine-failure';

/**
 * The batch is no longer ours to finish: the consumer is stopping, or a heartbeat failed (a
 * rebalance, a lost membership). Nothing of it is committed; it is delivered again.
 */
export class IndexerStoppingError extends Error {
  readonly retryable = true;
  constructor(message = 'indexer is stopping; the batch will be redelivered') {
    super(message);
    this.name = 'IndexerStoppingError';
  }
}

/**
 * A write of the batch failed for a reason that is nobody's record: the batch fails as a whole
 * (no offset is committed) instead of anything being dropped.
 */
export class BatchAbortedError extends Error {
  constructor(readonly failure: unknown) {
    super(
      `batch aborted, nothing committed: ${failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure)}`,
    );
    this.name = 'BatchAbortedError';
  }
}

/**
 * The engine refused to create a table's index for these columns (e.g. a field type it does not
 * know): every record with the same columns would be refused alike.
 */
export class TableIndexRefusedError extends Error {
  constructor(readonly engineError: SearchEngineError) {
    super(engineError.message);
    this.name = 'TableIndexRefusedError';
  }
}

/**
 * A table's index is still missing right after we created it (deleted again meanwhile, e.g. by
 * the admin for a table dropped and re-created): retried like an outage, never the record's.
 */
export class TableIndexMissingError extends Error {
  readonly retryable = true;
  constructor(alias: string) {
    super(`index of ${alias} missing right after it was created; retrying`);
    this.name = 'TableIndexMissingError';
  }
}

const RETRIABLE_KAFKA_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);

/**
 * An outage, not a property of the record: the engine down or throttling (429/5xx), Kafka
 * unreachable. Waiting and retrying loses nothing; dead-lettering would.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const flags = error as { retryable?: unknown; retriable?: unknown; name?: unknown };
  if (error instanceof SearchEngineError) return error.retryable;
  return (
    flags.retryable === true ||
    flags.retriable === true ||
    RETRIABLE_KAFKA_ERRORS.has(String(flags.name))
  );
}

/** Kafka's own failures (a heartbeat refused during a rebalance, a broker error) are never a record's. */
function isKafkaError(error: unknown): boolean {
  return error instanceof Error && error.name.startsWith('KafkaJS');
}

/** Errors that are one record's fault; anything else (stopping, outages, Kafka) ends the batch. */
export function isRecordFailure(error: unknown): boolean {
  return !(
    error instanceof IndexerStoppingError ||
    error instanceof BatchAbortedError ||
    isKafkaError(error) ||
    isRetryable(error) ||
    engineOutage(error) !== null
  );
}

/** The dead-letter reason of a non-retryable failure: the engine's refusal, or a record error. */
export function classifyFailure(error: unknown): DeadLetterReason {
  if (error instanceof TableIndexRefusedError) return classifyFailure(error.engineError);
  if (error instanceof SearchEngineError) {
    return classifyEngineRejection({
      status: error.statusCode,
      type: error.type,
      reason: error.message,
    });
  }
  return classifyRecordError(error);
}

/** An error's message, for the log. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
