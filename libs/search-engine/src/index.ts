export * from './opensearch-engine';
export * from './search-engine';
export * from './search-engine.errors';
export * from './table-index';
