import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startTokenSuite, REPO } from '../integration/token-fixtures';
import { startActionsOidcServer } from '../cli/actions-oidc-server';
import { ACTION_BUNDLE, SimulatedRunner } from '../action/simulated-runner';

/**
 * `npm run test:consumer`: Tollgate as an outside user meets it. `npm pack`
 * (which builds, through `prepack`), then a fresh app in a temporary folder
 * that sees nothing of this repository but the tarball: it installs the
 * tarball and its peers (from npm's cache when they are there), then
 *
 * 1. imports every subpath from an ES module and from CommonJS;
 * 2. type-checks consumers of every subpath with the app's own TypeScript
 *    (ESM and CommonJS files, `skipLibCheck` off: the published declarations
 *    must stand on their own);
 * 3. synthesizes an outside CDK app with `TollgateService` and
 *    `TollgateAuthorizer` under ts-node (CommonJS, as `cdk init` makes it) and
 *    as a plain ES module, offline, with no esbuild and no Docker around;
 * 4. runs the `tollgate` bin with Node alone against a real local Tollgate;
 * 5. runs the GitHub Action's bundle under a simulated runner (loopback OIDC
 *    endpoint, GITHUB_OUTPUT/ENV/STATE files, the post step), with the
 *    installed bin refreshing in between;
 * 6. `npm publish --dry-run`.
 *
 * `TOLLGATE_CONSUMER_CDK_VERSION=2.252.0` runs it against another aws-cdk-lib
 * (the peer floor). Each phase's time is printed; the whole run is bounded.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const APP_SOURCES = join(ROOT, 'test', 'consumer', 'app');
const started = performance.now();
const timings: [string, number][] = [];

async function phase<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const at = performance.now();
  process.stderr.write(`consumer: ${name}…\n`);
  const result = await work();
  timings.push([name, performance.now() - at]);
  return result;
}

function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/**
 * Runs a command; throws with its output when it fails. Nothing of this
 * process's environment leaks in beyond PATH and HOME, except for npm itself
 * (`npmEnvironment`: its registry, proxy and certificate settings).
 */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; npmEnvironment?: boolean }): string {
  const base = options.npmEnvironment ? { ...process.env } : { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...base, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}) in ${options.cwd}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * `run` without blocking this process: for commands that talk to the local
 * Tollgate, which serves from this very process (a synchronous spawn would
 * keep it from answering).
 */
function runAsync(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...options.env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}) in ${options.cwd}\n${stdout}\n${stderr}`));
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'tollgate-consumer-'));
const app = join(work, 'app');
const node = process.execPath;
const npm = 'npm';

try {
  // 0. The tarball, exactly as `npm publish` would upload it.
  const tarball = await phase('npm pack (prepack builds)', () => {
    const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env: { npm_config_loglevel: 'error' }, timeoutMs: 300_000, npmEnvironment: true })) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]!.files.map((file) => file.path);
    // Only what ships: built JS, declarations, assets, the schema; no sources, tests or tooling.
    const stray = files.filter((path) => !/^(dist\/(assets\/[a-z-]+\/index\.mjs|cdk\/|cli\/|client\/|verify\/|types\/|config\.schema\.json)|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE)/.test(path));
    deepStrictEqual(stray, [], 'the tarball holds only what ships');
    ok(files.includes('dist/assets/token/index.mjs') && files.includes('dist/cli/tollgate.mjs') && files.includes('dist/types/cdk/index.d.cts'));
    return join(work, packed[0]!.filename);
  });

  // 1. A fresh app that knows only the tarball.
  await phase('install the tarball and peers into a fresh app', () => {
    execFileSync('cp', ['-r', APP_SOURCES, app]);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'tollgate-consumer', version: '1.0.0', private: true }, null, 2)}\n`);
    const cdkVersion = process.env.TOLLGATE_CONSUMER_CDK_VERSION || lockedVersion('aws-cdk-lib');
    run(
      npm,
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        tarball,
        `aws-cdk-lib@${cdkVersion}`,
        `constructs@${lockedVersion('constructs')}`,
        `@types/node@${lockedVersion('@types/node')}`,
        // What `cdk init app --language typescript` brings: TypeScript 5 and ts-node (TypeScript 7 has no ts-node API).
        'typescript@~5.9.0',
        'ts-node@10.9.2',
      ],
      { cwd: app, timeoutMs: 300_000, npmEnvironment: true },
    );
    const installed = readdirSync(join(app, 'node_modules'));
    // jose is the one dependency; the Lambda runtime's libraries came bundled in the assets.
    for (const absent of ['zod', '@middy', '@aws-sdk', '@aws-lambda-powertools', 'esbuild']) ok(!installed.includes(absent), `${absent} was installed`);
    ok(installed.includes('jose'));
  });

  // 2. Every subpath from ESM and from CommonJS.
  await phase('import every subpath (ESM, CommonJS)', () => {
    const esm = JSON.parse(run(node, ['esm-imports.mjs'], { cwd: app })) as Record<string, unknown>;
    const cjs = JSON.parse(run(node, ['cjs-imports.cjs'], { cwd: app })) as Record<string, unknown>;
    deepStrictEqual(cjs, esm);
    ok((esm.client as string[]).includes('createTollgateClient'));
    ok((esm.verify as string[]).includes('createVerifier'));
    deepStrictEqual(
      (esm.cdk as string[]).filter((name) => name.startsWith('Tollgate')),
      ['TollgateAuthorizer', 'TollgateService', 'TollgateStack'],
    );
    equal(esm.schemaTitle, 'Tollgate config');
    equal(esm.worker, true);
  });

  // 3. Types, as the app's own compiler sees them.
  await phase('type-check consumers (tsc 5: ESM + CommonJS with Node types, a browser app without; skipLibCheck off)', () => {
    run(node, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, timeoutMs: 240_000 });
    // A browser app: bundler resolution, DOM types and no Node types at all, for the client and the verifier.
    run(node, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.browser.json'], { cwd: app, timeoutMs: 120_000 });
  });

  // 4. An outside CDK app, offline: no esbuild, no Docker, no Tollgate sources, no lock file of Tollgate's.
  await phase('synthesize an outside CDK app (ts-node, CommonJS)', () => {
    // The types were checked above (the same file, the same tsconfig); ts-node here is the loader `cdk init` apps run under.
    const offline = { CDK_DOCKER: '/bin/false', npm_config_offline: 'true', TS_NODE_TRANSPILE_ONLY: 'true' };
    const summary = JSON.parse(run(node, [join(app, 'node_modules', 'ts-node', 'dist', 'bin.js'), 'cdk-app.ts', join(app, 'cdk.out')], { cwd: app, env: offline })) as {
      tables: number;
      functions: { handler: string; runtime: string; architectures: string[]; files: string[]; bundleBytes: number; description: string }[];
    };
    equal(summary.tables, 2);
    // token, refresh, verify, revoke, metadata, proxy, key rotation, and the authorizer.
    equal(summary.functions.length, 8);
    for (const fn of summary.functions) {
      deepStrictEqual({ handler: fn.handler, runtime: fn.runtime, architectures: fn.architectures, files: fn.files }, { handler: 'index.handler', runtime: 'nodejs24.x', architectures: ['arm64'], files: ['index.mjs'] });
    }
    // The deployed code is byte for byte the bundle the tarball shipped.
    const shipped = (name: string) => createHash('sha256').update(readFileSync(join(app, 'node_modules', 'tollgate', 'dist', 'assets', name, 'index.mjs'))).digest('hex');
    const assets = readdirSync(join(app, 'cdk.out')).filter((entry) => entry.startsWith('asset.'));
    const deployed = new Set(assets.map((asset) => createHash('sha256').update(readFileSync(join(app, 'cdk.out', asset, 'index.mjs'))).digest('hex')));
    for (const name of ['token', 'authorizer', 'rotate-keys']) ok(deployed.has(shipped(name)), `the ${name} asset is the shipped bundle`);
  });
  await phase('synthesize an outside CDK app (plain ES module)', () => {
    const summary = JSON.parse(run(node, ['cdk-app.mjs', join(work, 'esm.cdk.out')], { cwd: app, env: { CDK_DOCKER: '/bin/false' } })) as { functions: number; tables: number };
    deepStrictEqual(summary, { functions: 8, tables: 2 });
  });

  // 5 and 6 need a running Tollgate: the local server with a test GitHub issuer.
  const suite = await startTokenSuite();
  const oidc = await startActionsOidcServer(suite.github, REPO);
  const bin = join(app, 'node_modules', '.bin', 'tollgate');
  try {
    await phase('run the tollgate bin with Node alone', async () => {
      ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node'));
      ok(run(bin, ['--help'], { cwd: app }).includes('Usage: tollgate'));
      // An admin command: its libraries (zod here, the AWS SDK for others) come from the bin's own chunks.
      ok(run(bin, ['config', 'check', 'tollgate.config.json'], { cwd: app }).includes('valid'));
      const subject = join(work, 'subject.jwt');
      writeFileSync(subject, await suite.githubToken());
      const session = JSON.parse(await runAsync(bin, ['exchange', '--url', suite.tollgate.baseUrl, '--subject-token-file', subject, '--output', 'json'], { cwd: app })) as { access_token: string };
      ok(JSON.parse(await runAsync(bin, ['verify', '--url', suite.tollgate.baseUrl, '--token', session.access_token], { cwd: app })).active);
    });

    await phase('run the action bundle under a simulated runner (main, CLI refresh, post)', async () => {
      const job = new SimulatedRunner(ACTION_BUNDLE, { ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken });
      const main = await job.main({ url: suite.tollgate.baseUrl, scope: 'deploy' });
      equal(main.code, 0, main.stdout + main.stderr);
      ok(main.stdout.includes(`::add-mask::${main.outputs['access-token']}`));
      equal(decodeJwt(main.outputs['access-token']!).sid, main.outputs['session-id']);
      // A later step of a long job renews with the installed bin.
      const refreshed = await job.run(bin, ['refresh']);
      equal(refreshed.code, 0, refreshed.stdout + refreshed.stderr);
      const renewed = job.environment().TOLLGATE_ACCESS_TOKEN!;
      ok(renewed !== main.outputs['access-token']);
      const post = await job.post({ url: suite.tollgate.baseUrl });
      equal(post.code, 0, post.stdout + post.stderr);
      deepStrictEqual((await suite.tollgate.verify(renewed)).json, { active: false });
    });
  } finally {
    await oidc.close();
    await suite.close();
  }

  await phase('npm publish --dry-run', () => {
    // The tarball is built already; --ignore-scripts keeps prepack from building it a second time.
    run(npm, ['publish', '--dry-run', '--ignore-scripts', '--offline', '--loglevel=error'], { cwd: ROOT, timeoutMs: 120_000, npmEnvironment: true });
  });

  const total = performance.now() - started;
  process.stderr.write(`consumer: every check passed in ${(total / 1000).toFixed(1)} s\n`);
  for (const [name, ms] of timings) process.stderr.write(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}\n`);
} finally {
  if (!process.env.TOLLGATE_CONSUMER_KEEP) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`consumer: kept ${work}\n`);
}
