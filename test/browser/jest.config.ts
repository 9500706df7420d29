/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * `npm run test:browser`: the client in headless Chromium (Debian's
 * `chromium`, driven by playwright-core), run by `.ci/run`. Not part of
 * `npm test`, which must pass on a machine without a browser.
 */
const config: Config = {
  rootDir: '../..',
  displayName: 'browser',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/browser/**/*.browser.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(jose|@middy)/)'],
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  testTimeout: 180_000,
  // One browser at a time: the suites share the machine with everything else CI runs.
  maxWorkers: 1,
};

export default config;
