import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every Lambda function Tollgate ships, by its entry module under
 * `src/lambda/`. `npm run build:assets` (scripts/build.ts) bundles each one
 * to `dist/assets/<name>/index.mjs`; the constructs deploy those folders as
 * they are (`Code.fromAsset`), so a synth never bundles anything.
 */
export const FUNCTION_ASSETS = ['authorizer', 'clerk-webhook', 'metadata', 'proxy', 'refresh', 'revoke', 'rotate-keys', 'token', 'verify'] as const;

export type FunctionAsset = (typeof FUNCTION_ASSETS)[number];

/** The handler setting of every asset: `index.mjs`, export `handler`. */
export const ASSET_HANDLER = 'index.handler';

/**
 * Where the prebuilt assets are, found from this module's own file: in the
 * package, `dist/cdk/index.{js,cjs}` → `dist/assets`; in a checkout, `cdk/` →
 * `dist/assets` (built by `npm run build:assets`). `TOLLGATE_ASSETS_DIR`
 * overrides both (a build of the assets kept elsewhere).
 */
export function defaultAssetsDirectory(): string {
  const fromEnvironment = process.env.TOLLGATE_ASSETS_DIR;
  if (fromEnvironment) return fromEnvironment;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'assets'), join(here, '..', 'dist', 'assets')];
  return candidates.find((candidate) => FUNCTION_ASSETS.some((name) => existsSync(join(candidate, name, 'index.mjs')))) ?? candidates[candidates.length - 1]!;
}

/** The folder of one function's asset; throws with what to run when it was never built. */
export function functionAssetPath(assetsDirectory: string, name: FunctionAsset): string {
  const path = join(assetsDirectory, name);
  if (!existsSync(join(path, 'index.mjs'))) {
    throw new Error(
      `Tollgate's prebuilt function asset ${name} is missing (${join(path, 'index.mjs')}). ` +
        'In a checkout of the repository run `npm run build:assets`; an installed package ships it, so reinstall the package.',
    );
  }
  return path;
}
