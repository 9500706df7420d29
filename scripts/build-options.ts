import { join } from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';
import { ROOT } from './build-assets';

/**
 * The esbuild options of the package's JavaScript parts (scripts/build.ts
 * builds them; tests that check a built part import them, so they test what
 * ships). The Lambda assets' options are in scripts/build-assets.ts.
 */
export const DIST = join(ROOT, 'dist');

/** The `tollgate/client` bundle. Also what test/integration/client-bundle.int.test.ts checks. */
export const CLIENT_BUILD_OPTIONS = {
  entryPoints: [join(ROOT, 'src', 'client', 'index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  outfile: join(DIST, 'client', 'index.js'),
  logLevel: 'error',
} as const satisfies BuildOptions;

/** `tollgate/client/worker`: the SharedWorker script apps serve from their origin (docs/client.md, "One session for every tab"). */
export const CLIENT_WORKER_BUILD_OPTIONS = {
  ...CLIENT_BUILD_OPTIONS,
  entryPoints: [join(ROOT, 'src', 'client', 'shared-worker.ts')],
  outfile: join(DIST, 'client', 'tollgate-worker.js'),
} as const satisfies BuildOptions;

/** The `tollgate/verify` bundle: jose stays a dependency (the one it has). */
export const VERIFY_BUILD_OPTIONS = {
  entryPoints: [join(ROOT, 'src', 'verifier', 'index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['jose'],
  outfile: join(DIST, 'verify', 'index.js'),
  logLevel: 'error',
} as const satisfies BuildOptions;

/**
 * Lets bundled CommonJS code call `require` for Node built-ins inside an ESM
 * file (esbuild's "Dynamic require of …" otherwise).
 */
const REQUIRE_BANNER = "import { createRequire as __tollgateCreateRequire } from 'node:module';\nconst require = __tollgateCreateRequire(import.meta.url);";

/**
 * The `tollgate` bin: every dependency bundled (the bin needs no installed
 * package), code splitting so that what only some commands import with
 * `await import()` (the admin commands' AWS SDK clients) sits in chunks the
 * CI commands never load.
 */
export const CLI_BUILD_OPTIONS = {
  entryPoints: { tollgate: join(ROOT, 'src', 'cli', 'bin.ts') },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  outdir: join(DIST, 'cli'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: `#!/usr/bin/env node\n${REQUIRE_BANNER}` },
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'error',
} as const satisfies BuildOptions;

/**
 * Treats the packages `filter` matches as free of side effects, so esbuild
 * drops them when nothing imported from them is used (a package that does
 * not say so in its package.json is otherwise kept whole).
 */
export function sideEffectFree(name: string, filter: RegExp): Plugin {
  return {
    name,
    setup(builder) {
      builder.onResolve({ filter }, async (args) => {
        if (args.pluginData === name) return undefined;
        const resolved = await builder.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: name });
        return { ...resolved, sideEffects: false };
      });
    },
  };
}

/**
 * The GitHub Action: one file, committed, checked in CI to match a fresh build (so it must be deterministic).
 * `@actions/core` reaches an HTTP client (undici, about 430 KB) only for `getIDToken`, which the action does
 * not use (it requests the OIDC token itself, with a timeout per attempt): left out.
 */
export const ACTION_BUILD_OPTIONS = {
  entryPoints: [join(ROOT, 'src', 'action', 'main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  mainFields: ['module', 'main'],
  outfile: join(DIST, 'action', 'index.mjs'),
  plugins: [sideEffectFree('unused-actions-http-client', /^(@actions\/http-client|undici|tunnel)(\/|$)/)],
  banner: { js: `// Built by \`npm run build:action\` from src/action/ (do not edit; CI checks it matches a fresh build).\n${REQUIRE_BANNER}` },
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'error',
} as const satisfies BuildOptions;
