export * from './connect-client';
export * from './connect-types';
export * from './connect.errors';
export * from './redact';
export * from './connector-template';
