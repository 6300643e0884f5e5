export * from './view.errors';
export * from './view-catalog';
export * from './view-plan';
export * from './view-keys';
export * from './view-documents';
export * from './affected-roots';
export * from './view-mapping';
