export * from './change-event';
export * from './change-event.errors';
export * from './connect-schema';
export * from './debezium-envelope';
export * from './document-id';
export * from './value-converter';
export * from './index-mapping';
export * from './row-values';
