import { existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startTokenSuite, REPO, type TokenSuite } from '../integration/token-fixtures';
import { startActionsOidcServer, type ActionsOidcServer } from '../cli/actions-oidc-server';
import { ACTION_BUNDLE, SimulatedRunner } from './simulated-runner';

/** The `tollgate` command as a later step runs it in a checkout (the launcher; the package's bin is the same code bundled). */
const CLI = join(__dirname, '..', '..', 'src', 'cli', 'tollgate.js');

/**
 * A loopback front for Tollgate that answers the first `/token` requests
 * itself (503 with `Retry-After`, or no answer at all) and forwards the rest.
 */
async function startFront(target: string, plan: ('unavailable' | 'hang' | 'forward')[]): Promise<{ url: string; tokenRequests: number; close(): Promise<void> }> {
  let tokenRequests = 0;
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const mode = request.url === '/token' ? (plan[tokenRequests++] ?? 'forward') : 'forward';
    if (mode === 'hang') return;
    if (mode === 'unavailable') {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"temporarily_unavailable","error_description":"try later"}');
      return;
    }
    const answer = await fetch(`${target}${request.url}`, {
      method: request.method,
      headers: { 'content-type': request.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
      body: request.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get tokenRequests() {
      return tokenRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the GitHub Action (dist/action/index.mjs under a simulated runner, against the local server)', () => {
  let suite: TokenSuite;
  let oidc: ActionsOidcServer;
  let strangerOidc: ActionsOidcServer;

  /** A job whose runner serves OIDC tokens from `oidcServer`; `null`: a job without `id-token: write`. */
  const runner = (oidcServer: ActionsOidcServer | null = oidc) =>
    new SimulatedRunner(
      ACTION_BUNDLE,
      oidcServer ? { ACTIONS_ID_TOKEN_REQUEST_URL: oidcServer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcServer.requestToken } : {},
    );
  const active = async (token: string) => (await suite.tollgate.verify(token)).json as { active: boolean };

  beforeAll(async () => {
    suite = await startTokenSuite();
    oidc = await startActionsOidcServer(suite.github, REPO);
    // A repository no trust rule names.
    strangerOidc = await startActionsOidcServer(suite.github, { repository: 'other/repo', repositoryId: '999', ownerId: '998', environment: 'prod' });
  });
  afterAll(async () => {
    await Promise.all([oidc?.close(), strangerOidc?.close()]);
    await suite?.close();
  });

  it('exchanges the job token, masks both tokens, and hands outputs, environment and a state file to later steps', async () => {
    const job = runner();
    const asked = oidc.audiences.length;

    const step = await job.main({ url: suite.tollgate.baseUrl, scope: 'orders:read' });

    expect({ code: step.code, stderr: step.stderr }).toEqual({ code: 0, stderr: '' });
    const { outputs } = step;
    const env = job.environment();
    expect(step.stdout).toContain(`::add-mask::${outputs['access-token']}`);
    expect(step.stdout).toContain(`::add-mask::${outputs['refresh-token']}`);
    // Beyond the mask commands, no token appears in the log.
    const logLines = step.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    expect(logLines.join('\n')).not.toContain(outputs['access-token']!);
    expect(logLines.join('\n')).not.toContain(outputs['refresh-token']!);
    const claims = decodeJwt(outputs['access-token']!);
    expect(outputs['session-id']).toBe(claims.sid);
    expect(claims.scope).toBe('orders:read');
    expect(Number(outputs['expires-at'])).toBeLessThanOrEqual(claims.exp!);
    expect(Number(outputs['expires-at'])).toBeGreaterThanOrEqual(claims.exp! - 5);
    expect(env).toMatchObject({
      TOLLGATE_URL: suite.tollgate.baseUrl,
      TOLLGATE_ACCESS_TOKEN: outputs['access-token'],
      TOLLGATE_REFRESH_TOKEN: outputs['refresh-token'],
      TOLLGATE_EXPIRES_AT: outputs['expires-at'],
    });
    expect(statSync(outputs['state-file']!).mode & 0o777).toBe(0o600);
    expect(oidc.audiences.slice(asked)).toEqual(['tollgate']);
    expect(await active(outputs['access-token']!)).toMatchObject({ active: true });
  });

  it('lets a later step refresh with the tollgate CLI, and its post step still ends the session', async () => {
    const job = runner();
    const main = await job.main({ url: suite.tollgate.baseUrl });
    expect(main.code).toBe(0);

    // A long job: a later step renews the access token from what the action left in GITHUB_ENV.
    const refreshed = await job.run(CLI, ['refresh']);
    expect(refreshed.code).toBe(0);
    const renewed = job.environment().TOLLGATE_ACCESS_TOKEN!;
    expect(renewed).not.toBe(main.outputs['access-token']);
    expect(await active(renewed)).toMatchObject({ active: true });

    const post = await job.post({ url: suite.tollgate.baseUrl });

    expect(post.code).toBe(0);
    expect(post.stdout).toContain('Tollgate session revoked');
    expect(await active(renewed)).toEqual({ active: false });
    expect(existsSync(main.outputs['state-file']!)).toBe(false);
  });

  it('leaves the session to expire when revoke is false, and exports nothing when export-env is false', async () => {
    const job = runner();
    const inputs = { url: suite.tollgate.baseUrl, revoke: 'false', 'export-env': 'false' };
    const main = await job.main(inputs);
    expect(main.code).toBe(0);
    expect(job.environment().TOLLGATE_ACCESS_TOKEN).toBeUndefined();

    const post = await job.post(inputs);

    expect(post.code).toBe(0);
    expect(await active(main.outputs['access-token']!)).toMatchObject({ active: true });
  });

  it('says that the job needs id-token: write when the runner offers no OIDC token', async () => {
    const job = runner(null);

    const step = await job.main({ url: suite.tollgate.baseUrl });

    expect(step.code).toBe(1);
    expect(step.stdout).toMatch(/^::error::.*`permissions: id-token: write`/m);
    expect(step.outputs).toEqual({});
  });

  it("prints Tollgate's error code and the presented token's claims in a collapsed group when the exchange is refused, without retrying", async () => {
    const job = runner(strangerOidc);
    const asked = strangerOidc.audiences.length;

    const step = await job.main({ url: suite.tollgate.baseUrl });

    expect(step.code).toBe(1);
    expect(strangerOidc.audiences.length - asked).toBe(1);
    const lines = step.stdout.split('\n');
    const group = lines.findIndex((line) => line.startsWith('::group::Tollgate refused the exchange (invalid_grant)'));
    expect(group).toBeGreaterThanOrEqual(0);
    const shown = lines.slice(group + 1, lines.indexOf('::endgroup::'));
    expect(shown).toEqual(
      expect.arrayContaining(['repository: other/repo', 'repository_id: 999', 'repository_owner_id: 998', 'ref: refs/heads/main', 'environment: prod', 'aud: tollgate']),
    );
    expect(shown.some((line) => line.startsWith('workflow_ref: other/repo/.github/workflows/'))).toBe(true);
    expect(lines.find((line) => line.startsWith('::error::'))).toMatch(/^::error::Tollgate answered 400 at \/token: invalid_grant/);
    // The token itself is never printed.
    expect(step.stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\./);
  });

  it('retries a 503 after its Retry-After and a request that never answers, each attempt with a fresh OIDC token', async () => {
    const front = await startFront(suite.tollgate.baseUrl, ['unavailable', 'hang', 'forward']);
    try {
      const job = runner();
      const asked = oidc.audiences.length;
      const started = Date.now();

      const step = await job.main({ url: front.url, 'attempt-timeout-seconds': '1' });

      expect({ code: step.code, stderr: step.stderr }).toEqual({ code: 0, stderr: '' });
      expect(front.tokenRequests).toBe(3);
      expect(oidc.audiences.length - asked).toBe(3);
      // Retry-After: 1 was honoured, and the hung attempt ended at its 1 s limit.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(step.stdout.match(/^::warning::attempt \d of 4 failed/gm)).toHaveLength(2);
    } finally {
      await front.close();
    }
  });
});
