import { runCli } from './run-cli';

/**
 * The `tollgate` process: real stdio, environment, fetch and clock. Entry of
 * the launcher (`tollgate.js`, through tsx) and of the bundle
 * `npm run build:cli` writes (`dist/cli/tollgate.mjs`).
 */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin,
  fetch: globalThis.fetch,
  now: () => Date.now(),
});
