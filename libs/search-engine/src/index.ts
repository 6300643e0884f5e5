export * from './create-search-engine';
export * from './elasticsearch-engine';
export * from './engine-common';
export * from './opensearch-engine';
export * from './search-dsl';
export * from './search-engine';
export * from './search-engine.errors';
export * from './table-index';
