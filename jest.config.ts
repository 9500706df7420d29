/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

const swc: [string, Record<string, unknown>] = [
  '@swc/jest',
  { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
];

const shared: Config = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': swc },
  // jose and middy ship ESM only; transform them to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@middy)/)'],
  // @middy/core exports only an `import` condition, which Jest's CommonJS resolver does not use.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
};

const config: Config = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/test/cdk/'] },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.int.test.ts'] },
    // The constructs deploy the prebuilt assets of dist/assets: built first when missing or stale.
    { ...shared, displayName: 'cdk', testMatch: ['<rootDir>/test/cdk/**/*.test.ts'], globalSetup: '<rootDir>/test/cdk/build-assets.setup.ts' },
  ],
  testTimeout: 30_000,
};

export default config;
