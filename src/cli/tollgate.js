#!/usr/bin/env node
// The `tollgate` command (package.json "bin"). Runs the TypeScript source through
// tsx when it is installed (a checkout with its devDependencies), else the
// dependency-free bundle that `npm run build:cli` writes. See docs/github-actions.md.
let tsx;
try {
  tsx = await import('tsx/esm/api');
} catch {
  tsx = undefined;
}
if (tsx) {
  await tsx.tsImport('./bin.ts', import.meta.url);
} else {
  try {
    await import('../../dist/cli/tollgate.mjs');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write('tollgate: neither tsx nor the built CLI is installed; run `npm run build:cli` (or `npm ci` with devDependencies)\n');
    process.exitCode = 4;
  }
}
