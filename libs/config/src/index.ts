export * from './config.errors';
export * from './env-schemas';
export * from './load-config';
