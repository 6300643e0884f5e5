export * from './applied-offsets';
export * from './consistency-gate';
export * from './lsn';
export * from './source-position';
export * from './started-after';
export * from './commit-progress';
