export * from './config.errors';
export * from './env-schemas';
export * from './load-config';
export * from './kafka-connection';
export * from './search-connection';
export * from './kafka-compression';
export * from './table-config';
export * from './table-config.types';
