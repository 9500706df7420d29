import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { LAMBDA_BUILD_OPTIONS } from '../scripts/build-assets';

/**
 * `npx tsx bench/bundle-composition.ts [entry …]`: where a function bundle's
 * bytes come from. Builds `src/lambda/<entry>.ts` with the options the shipped
 * assets are built with (`LAMBDA_BUILD_OPTIONS`, aliases included) plus a
 * metafile, and sums the minified output bytes by package. The first look
 * when a bundle misses its size or import-time target.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function packageOf(path: string): string {
  const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (match) return match[1]!;
  const own = path.match(/^(src\/[^/]+)\//);
  return own ? own[1]! : path;
}

/** A function bundle's minified bytes and the share of each package (our own code by `src/<folder>`), largest first. */
export interface BundleComposition {
  entry: string;
  bytes: number;
  packages: { name: string; bytes: number }[];
}

/** Builds `src/lambda/<entry>.ts` as the shipped asset is built (in memory) and sums its output bytes by package. */
export async function compositionOf(entry: string): Promise<BundleComposition> {
  const result = await build({
    ...LAMBDA_BUILD_OPTIONS,
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'src', 'lambda', `${entry}.ts`)],
    write: false,
    outfile: 'index.mjs',
    metafile: true,
  });
  const metafile: Metafile = result.metafile;
  const output = Object.values(metafile.outputs)[0]!;
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) byPackage.set(packageOf(path), (byPackage.get(packageOf(path)) ?? 0) + input.bytesInOutput);
  return { entry, bytes: output.bytes, packages: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes) };
}

async function print(entry: string): Promise<void> {
  const { bytes, packages } = await compositionOf(entry);
  process.stdout.write(`\n${entry}: ${(bytes / 1024).toFixed(1)} KB\n`);
  for (const pkg of packages.slice(0, 25)) process.stdout.write(`${(pkg.bytes / 1024).toFixed(1).padStart(8)} KB  ${pkg.name}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = process.argv.slice(2);
  for (const entry of entries.length > 0 ? entries : ['verify', 'proxy', 'token', 'refresh', 'revoke', 'metadata', 'clerk-webhook', 'rotate-keys', 'authorizer']) await print(entry);
}
