import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

async function composition(entry: string): Promise<void> {
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
  process.stdout.write(`\n${entry}: ${(output.bytes / 1024).toFixed(1)} KB\n`);
  for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`${(bytes / 1024).toFixed(1).padStart(8)} KB  ${name}\n`);
  }
}

const entries = process.argv.slice(2);
for (const entry of entries.length > 0 ? entries : ['verify', 'proxy', 'token', 'refresh', 'revoke', 'metadata', 'clerk-webhook', 'rotate-keys', 'authorizer']) await composition(entry);
