/**
 * Medium tests: the indexing library against a real search engine, fed recorded Debezium
 * events — no Kafka, no Connect. They need the engine (SEARCH_URL, as the apps read it) and,
 * for the view tests, PostgreSQL (DATABASE_URL).
 */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('../../tsconfig.json');

module.exports = {
  rootDir: '../..',
  // Only the medium folder: .stack/ holds PostgreSQL's *.snap files, which Jest would take for snapshots.
  roots: ['<rootDir>/test/medium'],
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/medium/**/*.medium-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testTimeout: 30_000,
};
