export * from './config.errors';
export * from './env-schemas';
export * from './load-config';
export * from './kafka-connection';
