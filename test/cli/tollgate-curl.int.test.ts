import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';
import { OK_JSON, startTestUpstream, type TestUpstream } from '../services/proxy-harness';
import { startActionsOidcServer, type ActionsOidcServer } from './actions-oidc-server';
import { assignments, tollgate } from './cli-harness';

const REPO = { repository: 'acme/app', repositoryId: '74', ownerId: '65' };

describe('tollgate curl (child process through the local proxy)', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let server: TestTollgate;
  let oidc: ActionsOidcServer;
  let dir: string;
  let files = 0;
  const file = (name: string) => join(dir, `${++files}-${name}`);

  beforeAll(async () => {
    issuers = await startTestIssuers(['github']);
    upstream = await startTestUpstream();
    server = await startTestTollgate({
      config: {
        trust: [{ name: 'github', issuer: issuers.issuers.github!.issuer, kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { repository_id: '74' }, scopes: ['orders:read', 'orders:write'] }] }],
        proxy: {
          upstreamUrl: upstream.url,
          routes: [
            { methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] },
            { methods: ['POST'], path: '/orders', scopes: ['orders:write'] },
          ],
        },
      },
    });
    oidc = await startActionsOidcServer(issuers.issuers.github!, REPO);
    dir = mkdtempSync(join(tmpdir(), 'tollgate-curl-'));
  });
  afterAll(async () => {
    await oidc?.close();
    await server?.close();
    await upstream?.close();
    await issuers?.close();
  });
  afterEach(() => upstream.behave(OK_JSON));

  async function stateFile(overrides: Record<string, unknown> = {}): Promise<string> {
    const github = issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, Math.floor(Date.now() / 1000), REPO));
    const exchanged = await server.exchange(subject);
    const path = file('session.json');
    const { access_token, refresh_token, scope, expires_in } = exchanged.json;
    writeFileSync(path, JSON.stringify({ url: server.baseUrl, access_token, refresh_token, scope, expires_at: Math.floor(Date.now() / 1000) + expires_in, ...overrides }), { mode: 0o600 });
    return path;
  }

  it('inside Actions without a session, exchanges the job token first, then prints the upstream body', async () => {
    const githubEnv = file('github-env');
    writeFileSync(githubEnv, '');

    const run = await tollgate(['curl', '/orders/1', '--url', server.baseUrl], {
      GITHUB_ACTIONS: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
      GITHUB_ENV: githubEnv,
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('{"ok":true}');
    const session = assignments(githubEnv);
    expect(session.TOLLGATE_ACCESS_TOKEN).toBeTruthy();
    expect(run.stderr).toBe(`::add-mask::${session.TOLLGATE_ACCESS_TOKEN}\n::add-mask::${session.TOLLGATE_REFRESH_TOKEN}\n`);
    expect(upstream.received.at(-1)).toMatchObject({ method: 'GET', url: '/orders/1' });
  });

  it('sends -X, -H and -d (also @file) like curl', async () => {
    const state = await stateFile();
    const bodyFile = file('body.json');
    writeFileSync(bodyFile, '{"b":2}\n');

    const run = await tollgate(['curl', '/orders', '--state-file', state, '-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'X-Request-Id: r-1', '-d', '{"a":1}', '-d', `@${bodyFile}`]);

    expect(run).toMatchObject({ code: 0, stdout: '{"ok":true}', stderr: '' });
    const received = upstream.received.at(-1)!;
    expect(received.method).toBe('POST');
    expect(received.body.toString()).toBe('{"a":1}&{"b":2}\n');
    expect(upstream.header(received, 'content-type')).toEqual(['application/json']);
  });

  it('-i prints the status line and headers first; --fail exits 22 on an upstream 404', async () => {
    const state = await stateFile();
    upstream.behave((_request, response) => response.writeHead(404, { 'content-type': 'text/plain' }).end('no such order'));

    const plain = await tollgate(['curl', '/orders/9', '--state-file', state, '-i']);
    const failing = await tollgate(['curl', '/orders/9', '--state-file', state, '--fail']);

    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 404 Not Found\r\n(.*\r\n)*content-type: text\/plain\r\n(.*\r\n)*\r\nno such order$/);
    expect(failing).toMatchObject({ code: 22, stdout: 'no such order' });
  });

  it('refreshes an expired session first and writes the rotated tokens back to the state file', async () => {
    const state = await stateFile({ expires_at: Math.floor(Date.now() / 1000) - 10 });
    const before = JSON.parse(readFileSync(state, 'utf8'));

    const run = await tollgate(['curl', '/orders/2', '--state-file', state]);

    expect(run).toMatchObject({ code: 0, stdout: '{"ok":true}', stderr: '' });
    const after = JSON.parse(readFileSync(state, 'utf8'));
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(after.expires_at).toBeGreaterThan(before.expires_at);
    expect((await server.verify(after.access_token)).json.active).toBe(true);
  });

  it('warns when it had to refresh and has nowhere to keep the rotated session', async () => {
    const state = JSON.parse(readFileSync(await stateFile(), 'utf8'));

    const run = await tollgate(['curl', '/orders/3'], {
      TOLLGATE_URL: server.baseUrl,
      TOLLGATE_ACCESS_TOKEN: state.access_token,
      TOLLGATE_REFRESH_TOKEN: state.refresh_token,
      TOLLGATE_EXPIRES_AT: '1',
    });

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('the session was renewed and its refresh token rotated; the one in TOLLGATE_REFRESH_TOKEN is spent');
  });

  it("reports the proxy's refusal with its code and exits 1", async () => {
    const state = await stateFile();

    const run = await tollgate(['curl', '/billing', '--state-file', state]);

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'tollgate curl: Tollgate refused at the proxy: ROUTE_NOT_ALLOWED: no proxy route allows this request\n' });
  });

  it('outside Actions without a session or subject token, says how to get one', async () => {
    const run = await tollgate(['curl', '/orders/1', '--url', server.baseUrl]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain('there is no subject token');
  });
});
