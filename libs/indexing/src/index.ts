export {
  BatchAbortedError,
  IndexerStoppingError,
  isRecordFailure,
  isRetryable,
} from './apply-errors';
export * from './batch-pipeline';
export * from './change-applier';
export * from './dead-letter-reason';
export * from './dead-letters';
export * from './engine-failure';
export * from './indexing-metrics';
export type { BatchControl } from './outage-retry';
export * from './source-record';
export * from './write-status';
