/** Fault injection: kills, outages and replays against the real stack, each ending with verify. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('../../tsconfig.json');

module.exports = {
  rootDir: '../..',
  roots: ['<rootDir>/test/faults'],
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/e2e/support/kafka-codecs.ts'],
  testTimeout: 900_000,
};
