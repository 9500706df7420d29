import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { decodeJwt } from 'jose';
import { clerkSessionClaims, githubActionsClaims } from '../../src/local/dev-claims';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { svixSignature } from '../../src/domain/svix-signature';
import { TestClock } from '../support/clock';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { postForm, request } from '../support/http';
import { captureLogs, type LogCapture } from '../support/log-capture';
import { startTestStore, type TestStore } from '../support/store';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { APP_ORIGIN, REPO, trustConfig } from '../integration/token-fixtures';
import { bearer, rawRequest, startTestUpstream, type TestUpstream } from '../services/proxy-harness';

const CLIENT_SECRET_ENV = 'TOLLGATE_LOG_HYGIENE_CLIENT_SECRET';
const WEBHOOK_SECRET_ENV = 'TOLLGATE_LOG_HYGIENE_WEBHOOK_SECRET';

/** A client-credentials token endpoint on loopback that hands out a fresh, secret upstream token per call. */
async function startTokenEndpoint(clientSecret: string): Promise<{ url: string; issued: string[]; close(): Promise<void> }> {
  const issued: string[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const [, secret] = Buffer.from(String(request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
      if (decodeURIComponent(secret ?? '') !== clientSecret) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const token = `upstream-token-${randomBytes(16).toString('hex')}`;
      issued.push(token);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Log hygiene over a whole life cycle with every log level on: exchanges
 * (GitHub and Clerk), refresh, refresh-token reuse, introspection, the proxy
 * with an OAuth client-credentials upstream (including the upstream's 401 and
 * Tollgate's retry with a new upstream token), a Clerk webhook, revocation,
 * forged tokens, Authorization headers where none belong, and a store outage
 * (the SDK's errors are logged). Everything the process writes is captured;
 * none of the tokens, refresh tokens, secrets, signatures or Authorization
 * values may appear, while the events themselves must.
 */
describe('log hygiene over a whole flow', () => {
  let logs: LogCapture;
  let issuers: TestIssuerServer;
  let store: TestStore;
  let faults: FaultProxy;
  let upstream: TestUpstream;
  let tokenEndpoint: Awaited<ReturnType<typeof startTokenEndpoint>>;
  let tollgate: LocalTollgate;
  const clock = new TestClock();
  const secrets: string[] = [];
  const clientSecret = `client-secret-${randomBytes(16).toString('hex')}`;
  const webhookKey = randomBytes(32);

  /** Remembers a value, and for a JWT its signature, for a refresh token its secret. */
  const keep = (value: string) => {
    secrets.push(value);
    if (value.includes('.')) secrets.push(value.split('.').at(-1)!);
    return value;
  };
  const now = () => Math.floor(clock.now() / 1000);
  const token = (parameters: Record<string, string>, headers: Record<string, string> = {}) => postForm(`${tollgate.baseUrl}/token`, parameters, headers);

  beforeAll(async () => {
    logs = captureLogs();
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.env[CLIENT_SECRET_ENV] = keep(clientSecret);
    process.env[WEBHOOK_SECRET_ENV] = keep(`whsec_${webhookKey.toString('base64')}`);
    keep(webhookKey.toString('base64'));
    issuers = await startTestIssuers(['github', 'clerk']);
    store = await startTestStore();
    faults = await startFaultProxy(store.endpoint);
    upstream = await startTestUpstream();
    tokenEndpoint = await startTokenEndpoint(clientSecret);
    tollgate = await startLocalTollgate({
      port: 0,
      config: {
        trust: trustConfig(issuers.issuers.github!, issuers.issuers.clerk!),
        proxy: {
          upstreamUrl: upstream.url,
          routes: [{ methods: ['GET', 'POST'], path: '/orders/**', scopes: ['orders:read'] }],
          upstreamAuth: { type: 'oauth2-client-credentials', tokenUrl: tokenEndpoint.url, clientId: 'tollgate-proxy', clientSecret: `env:${CLIENT_SECRET_ENV}` },
        },
        webhooks: { clerk: { signingSecret: `env:${WEBHOOK_SECRET_ENV}` } },
      },
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-logs-')),
      dynamodbEndpoint: faults.endpoint,
      tables: store.tables,
      clock,
      observability: {
        logger: new Logger({ serviceName: 'tollgate-log-hygiene', logLevel: 'DEBUG' }),
        metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-log-hygiene' }),
      },
    });
  });

  afterAll(async () => {
    try {
      await tollgate?.close();
      await faults?.close();
      await store?.close();
      await tokenEndpoint?.close();
      await upstream?.close();
      await issuers?.close();
    } finally {
      delete process.env[CLIENT_SECRET_ENV];
      delete process.env[WEBHOOK_SECRET_ENV];
      logs?.stop();
    }
  });

  it('logs every event of the flow and none of its tokens, secrets or Authorization values', async () => {
    const github = issuers.issuers.github!;
    const clerk = issuers.issuers.clerk!;
    // Exchanges, a replay and a forged token.
    const ciSubject = keep(await github.sign(githubActionsClaims(github.issuer, now(), REPO)));
    const ci = (await token({ ...EXCHANGE, subject_token: ciSubject })).json;
    keep(ci.access_token);
    keep(ci.refresh_token);
    await token({ ...EXCHANGE, subject_token: ciSubject });
    await token({ ...EXCHANGE, subject_token: keep(await github.signWithUnpublishedKey(githubActionsClaims(github.issuer, now(), REPO))) });
    const clerkSid = 'sess_log_hygiene';
    const userSubject = keep(await clerk.sign(clerkSessionClaims(clerk.issuer, now(), { azp: APP_ORIGIN, role: 'api-client', sid: clerkSid })));
    const user = (await token({ ...EXCHANGE, subject_token: userSubject, client_id: 'web-app' })).json;
    keep(user.access_token);
    keep(user.refresh_token);

    // Refresh, then reuse of the rotated token after the grace window (revokes the ci session).
    const rotated = (await token({ grant_type: 'refresh_token', refresh_token: ci.refresh_token })).json;
    keep(rotated.access_token);
    keep(rotated.refresh_token);
    clock.advance(11);
    await token({ grant_type: 'refresh_token', refresh_token: ci.refresh_token });

    // Introspection of good, bad and refresh tokens; an Authorization header where none belongs.
    await postForm(`${tollgate.baseUrl}/verify`, { token: user.access_token });
    await postForm(`${tollgate.baseUrl}/verify`, { token: user.refresh_token });
    await postForm(`${tollgate.baseUrl}/verify`, { token: 'garbage-token-value' });
    await token({ grant_type: 'refresh_token', refresh_token: user.refresh_token }, { authorization: `Basic ${keep(Buffer.from('someone:hunter2-password').toString('base64'))}` })
      .then((answer) => {
        keep(answer.json.access_token);
        keep(answer.json.refresh_token);
        user.access_token = answer.json.access_token;
      });

    // The proxy: the upstream refuses its first token (Tollgate fetches another and retries), a client's own credentials, a bad token.
    let refusals = 1;
    upstream.behave((received, response) => {
      const presented = received.headers.find(([name]) => name === 'authorization')?.[1] ?? '';
      keep(presented.replace(/^Bearer /, ''));
      if (refusals-- > 0) response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      else response.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `upstream=${keep(`cookie-${randomBytes(8).toString('hex')}`)}` }).end('{"ok":true}');
    });
    const proxied = await rawRequest(tollgate.baseUrl, {
      path: '/proxy/orders/1',
      headers: { ...bearer(user.access_token), cookie: `sid=${keep(`client-cookie-${randomBytes(8).toString('hex')}`)}`, 'proxy-authorization': `Basic ${keep(Buffer.from('proxy:pw-12345').toString('base64'))}` },
    });
    expect(proxied.status).toBe(200);
    expect(tokenEndpoint.issued).toHaveLength(2);
    tokenEndpoint.issued.forEach(keep);
    await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(keep(`${ci.access_token.slice(0, -8)}AAAAAAAA`)) });

    // A Clerk webhook ends the user's session; a forged delivery is refused.
    const body = Buffer.from(JSON.stringify({ type: 'session.ended', data: { id: clerkSid } }));
    const id = `msg_${randomBytes(6).toString('hex')}`;
    const signature = keep(svixSignature(webhookKey, id, String(now()), body).toString('base64'));
    const delivered = await request(`${tollgate.baseUrl}/webhooks/clerk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(now()), 'svix-signature': `v1,${signature}` },
      body: new Uint8Array(body),
    });
    expect(delivered.status).toBe(200);
    await request(`${tollgate.baseUrl}/webhooks/clerk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'svix-id': `${id}x`, 'svix-timestamp': String(now()), 'svix-signature': `v1,${keep(randomBytes(32).toString('base64'))}` },
      body: new Uint8Array(body),
    });

    // Revocation, and a store outage while a refresh token is presented.
    await postForm(`${tollgate.baseUrl}/revoke`, { token: rotated.refresh_token });
    const another = (await token({ ...EXCHANGE, subject_token: keep(await github.sign(githubActionsClaims(github.issuer, now(), REPO))) })).json;
    keep(another.access_token);
    keep(another.refresh_token);
    await faults.setMode('reset');
    const outage = await token({ grant_type: 'refresh_token', refresh_token: another.refresh_token });
    await faults.setMode('up');
    expect(outage.status).toBe(503);

    const messages = new Set(logs.entries().map((entry) => entry.message));
    for (const message of [
      'token issued',
      'token refreshed',
      'token rejected',
      'refresh token reuse detected',
      'session revoked',
      'introspection inactive',
      'proxy request',
      'clerk webhook handled',
      'clerk webhook refused',
      'dependency unavailable',
    ]) {
      expect(messages).toContain(message);
    }
    expect(decodeJwt(user.access_token).sid).toBeDefined();
    expect(logs.leaks(secrets)).toEqual([]);
  });
});
