import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ACTION_BUILD_OPTIONS } from './build-options';

/**
 * `npm run check:action` (CI): the committed `dist/action/index.mjs` is what
 * a fresh build of src/action/ gives. `uses: …/tollgate@v1` runs the
 * committed file, never the sources, so a change to src/action, src/cli or
 * src/client that was not rebuilt would ship stale code.
 */
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-action-'));
try {
  const fresh = join(scratch, 'index.mjs');
  await build({ ...ACTION_BUILD_OPTIONS, outfile: fresh });
  const committed = readFileSync(ACTION_BUILD_OPTIONS.outfile, 'utf8');
  if (readFileSync(fresh, 'utf8') !== committed) {
    process.stderr.write('dist/action/index.mjs does not match a fresh build of src/action: run `npm run build:action` and commit dist/action/index.mjs\n');
    process.exitCode = 1;
  } else {
    process.stderr.write('dist/action/index.mjs matches a fresh build\n');
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
