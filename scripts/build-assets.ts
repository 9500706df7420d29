import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion, type BuildOptions } from 'esbuild';
import { FUNCTION_ASSETS, type FunctionAsset } from '../cdk/function-assets';
import { LAMBDA_BUNDLE_ALIASES } from '../src/lambda/bundle-aliases';

/** The repository root (this file is `scripts/build-assets.ts`). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `dist/assets`: one folder per function, plus `manifest.json`. */
export const ASSETS_DIR = join(ROOT, 'dist', 'assets');

/**
 * The esbuild options of every Lambda asset: ESM for Node (the runtime the
 * constructs deploy, `nodejs24.x`), `module` before `main` (ESM builds of the
 * SDK and Powertools), minified with names kept (stack traces and error
 * names stay readable), no source map, nothing external (the SDK is bundled:
 * the tested version is the version that runs).
 *
 * No `require` banner: every dependency bundles to code that never calls
 * `require` at run time. The artifact test fails if a bundle ever contains
 * esbuild's "Dynamic require of …" shim, which would throw inside an ESM
 * bundle; that is when a banner defining `require` becomes necessary.
 */
export const LAMBDA_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'error',
  // The entries' own substitutions (the env-only credential chain): src/lambda/bundle-aliases.ts.
  alias: LAMBDA_BUNDLE_ALIASES,
} as const satisfies BuildOptions;

/** What the manifest records: esbuild's version, the options, and the SHA-256 of every input file of every asset. */
interface AssetsManifest {
  esbuild: string;
  options: string;
  functions: Record<string, { bytes: number; sha256: string }>;
  inputs: Record<string, string>;
}

const optionsDigest = () => sha256(Buffer.from(JSON.stringify(LAMBDA_BUILD_OPTIONS)));

/**
 * Bundles every function of `FUNCTION_ASSETS` into `dist/assets/<name>/index.mjs`
 * and writes `dist/assets/manifest.json` (inputs and their hashes, so
 * `assetsAreStale` can tell without building).
 *
 * Each file is written whole and renamed into place, the manifest last: a
 * synth or a test reading the assets while another process rebuilds them
 * (two test runs in one checkout) sees old or new bundles, never half of one.
 */
export async function buildAssets(outDir = ASSETS_DIR): Promise<AssetsManifest> {
  const manifest: AssetsManifest = { esbuild: esbuildVersion, options: optionsDigest(), functions: {}, inputs: {} };
  const results = await Promise.all(
    FUNCTION_ASSETS.map(async (name) => {
      const outfile = join(outDir, name, 'index.mjs');
      const result = await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [join(ROOT, 'src', 'lambda', `${name}.ts`)], outfile, metafile: true, write: false });
      const bytes = Buffer.from(result.outputFiles[0]!.contents);
      writeAtomically(outfile, bytes);
      return { name, bytes, inputs: Object.keys(result.metafile.inputs) };
    }),
  );
  for (const { name, bytes, inputs } of results) {
    manifest.functions[name] = { bytes: bytes.length, sha256: sha256(bytes) };
    for (const input of inputs) manifest.inputs[input] ??= sha256(readFileSync(join(ROOT, input)));
  }
  manifest.inputs = Object.fromEntries(Object.entries(manifest.inputs).sort(([a], [b]) => a.localeCompare(b)));
  // A folder no function builds any more (a removed entry) would otherwise ship.
  for (const entry of readdirSync(outDir, { withFileTypes: true })) {
    if (entry.isDirectory() && !(FUNCTION_ASSETS as readonly string[]).includes(entry.name)) rmSync(join(outDir, entry.name), { recursive: true, force: true });
  }
  writeAtomically(join(outDir, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}

/** Writes beside the assets' root (a crash leaves nothing in a function's folder, which deploys whole), then renames into place. */
function writeAtomically(path: string, bytes: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(dirname(path)), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}

/**
 * Why the assets in `dist/assets` no longer match the sources (a missing
 * asset, another esbuild or other options, an input file changed or gone),
 * or undefined when they are current. Reads and hashes the recorded inputs
 * only; builds nothing.
 */
export function assetsAreStale(outDir = ASSETS_DIR): string | undefined {
  const manifestFile = join(outDir, 'manifest.json');
  if (!existsSync(manifestFile)) return 'never built';
  let manifest: AssetsManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as AssetsManifest;
  } catch {
    return 'unreadable manifest';
  }
  if (manifest.esbuild !== esbuildVersion) return `built with esbuild ${manifest.esbuild}`;
  if (manifest.options !== optionsDigest()) return 'built with other options';
  const missing = FUNCTION_ASSETS.find((name: FunctionAsset) => !manifest.functions?.[name] || !existsSync(join(outDir, name, 'index.mjs')));
  if (missing) return `no ${missing} asset`;
  for (const [input, digest] of Object.entries(manifest.inputs)) {
    const file = join(ROOT, input);
    if (!existsSync(file)) return `${input} is gone`;
    if (sha256(readFileSync(file)) !== digest) return `${relative(ROOT, file)} changed`;
  }
  return undefined;
}

/** Builds the assets unless they are current; returns what happened, for a log line. */
export async function ensureAssets(outDir = ASSETS_DIR): Promise<{ built: boolean; reason?: string; ms: number }> {
  const started = performance.now();
  const reason = assetsAreStale(outDir);
  if (reason) await buildAssets(outDir);
  return { built: reason !== undefined, reason, ms: Math.round(performance.now() - started) };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
