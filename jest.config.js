/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  // ts-jest only transpiles (isolatedModules); `npm run typecheck` does the type checking.
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  reporters: ['default', '<rootDir>/tests/summary-reporter.js'],
};
