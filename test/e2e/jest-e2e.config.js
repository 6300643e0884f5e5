/** End-to-end tests: they drive the real stack started by `./searchsync test`. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('../../tsconfig.json');

module.exports = {
  rootDir: '../..',
  // Only the e2e folder: .stack/ holds PostgreSQL's *.snap files, which Jest would take for snapshots.
  roots: ['<rootDir>/test/e2e'],
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/e2e/support/kafka-codecs.ts'],
  testTimeout: 180_000,
};
