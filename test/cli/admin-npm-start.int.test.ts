import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { tollgate } from './cli-harness';
import { freePort } from '../support/free-port';

/**
 * The runbook as a developer follows it on a laptop: `npm start` (its own
 * process, `tsx src/local/main.ts`), a CI-like session from its dev issuer,
 * then `tollgate sessions` against the store endpoint `npm start` printed and
 * `tollgate keys` on the key file in its data dir.
 */
const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

describe('tollgate sessions and keys against npm start', () => {
  let child: ChildProcess;
  let out = '';
  let url: string;
  let storeEndpoint: string;
  let dataDir: string;

  beforeAll(async () => {
    const port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-admin-start-'));
    const env = { ...process.env };
    for (const name of ['TOLLGATE_CONFIG', 'DYNAMODB_ENDPOINT', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[name];
    child = spawn(TSX, ['src/local/main.ts'], {
      cwd: ROOT,
      env: { ...env, PORT: String(port), TOLLGATE_DATA_DIR: dataDir, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const deadline = Date.now() + 45_000;
    while (!/store:\s+embedded dynalite at (http:\/\/127\.0\.0\.1:\d+)/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not start: ${out}`);
      await new Promise((wait) => setTimeout(wait, 50));
    }
    storeEndpoint = /store:\s+embedded dynalite at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    url = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    }
  });

  async function ciSession(repository: string): Promise<{ access_token: string; refresh_token: string }> {
    const minted = (await (await fetch(`${url}/dev/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'ci', repository }) })).json()) as { token: string };
    const exchanged = await fetch(`${url}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: minted.token,
      }),
    });
    expect(exchanged.status).toBe(200);
    return (await exchanged.json()) as { access_token: string; refresh_token: string };
  }

  it('finds and ends a repository\'s sessions in the store npm start printed, with its default table name', async () => {
    const leaked = await ciSession('acme/leaky');
    const other = await ciSession('acme/fine');
    const env = { DYNAMODB_ENDPOINT: storeEndpoint };

    const listed = await tollgate(['sessions', 'list', '--repository', 'acme/leaky', '--json'], env);
    const revoked = await tollgate(['sessions', 'revoke', '--repository', 'acme/leaky', '--reason', 'leaked', '--yes'], env);

    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').map((line) => JSON.parse(line).sid)).toEqual([decodeJwt(leaked.access_token).sid]);
    expect(revoked.code).toBe(0);
    const verify = async (token: string) => (await (await fetch(`${url}/verify`, { method: 'POST', body: new URLSearchParams({ token }) })).json()) as { active: boolean };
    // This server never cached the session (no /verify before): the store says revoked at once.
    expect(await verify(leaked.access_token)).toEqual({ active: false });
    expect((await verify(other.access_token)).active).toBe(true);
  }, 30_000);

  it("lists npm start's signing key, the one its JWKS publishes and its tokens are signed with, and stages the next", async () => {
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const token = (await ciSession('acme/keys')).access_token;

    const listed = await tollgate(['keys', 'list', '--json'], { TOLLGATE_DATA_DIR: dataDir });
    const rotated = await tollgate(['keys', 'rotate'], { TOLLGATE_DATA_DIR: dataDir });

    expect(listed.code).toBe(0);
    const [current] = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kid: string; state: string });
    expect(current).toMatchObject({ kid: decodeProtectedHeader(token).kid, state: 'current' });
    expect(jwks.keys.map((key) => key.kid)).toContain(current!.kid);
    expect(rotated.code).toBe(0);
    const document = JSON.parse(readFileSync(join(dataDir, 'signing-keys.json'), 'utf8')) as { current: string; next: string };
    expect(document.current).toBe(current!.kid);
    expect(rotated.stderr).toContain(`${document.next} is staged`);
  }, 30_000);
});

