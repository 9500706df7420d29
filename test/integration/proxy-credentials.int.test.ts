import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { TestClock } from '../support/clock';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { bearer, ciAccessToken, rawRequest, recordingObservability, startProxyTollgate, startTestUpstream, type TestUpstream } from '../services/proxy-harness';

/** A real OAuth 2.0 token endpoint on loopback (RFC 6749 §4.4) that issues `up-1`, `up-2`, … and records each request. */
interface TokenEndpoint {
  url: string;
  requests: { authorization?: string; body: URLSearchParams }[];
  /** `ok` issues tokens; `error` answers 500; `garbage` answers 200 with no token; `slow` waits `delayMs` first. */
  mode: 'ok' | 'error' | 'garbage';
  delayMs: number;
  expiresIn: number | undefined;
  issued: number;
  close(): Promise<void>;
}

async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const endpoint = { requests: [], mode: 'ok', delayMs: 0, expiresIn: 3600, issued: 0 } as unknown as TokenEndpoint;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      endpoint.requests.push({ authorization: request.headers.authorization, body: new URLSearchParams(Buffer.concat(chunks).toString()) });
      const answer = () => {
        if (endpoint.mode === 'error') return response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error"}');
        if (endpoint.mode === 'garbage') return response.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"nope"}');
        endpoint.issued += 1;
        const body: Record<string, unknown> = { access_token: `up-${endpoint.issued}`, token_type: 'Bearer' };
        if (endpoint.expiresIn !== undefined) body.expires_in = endpoint.expiresIn;
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
      };
      if (endpoint.delayMs > 0) setTimeout(answer, endpoint.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  endpoint.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return endpoint;
}

const CLIENT_SECRET = 'p@ss word:1';
const ROUTES = [{ methods: ['GET', 'POST'] as ('GET' | 'POST')[], path: '/orders/**', scopes: ['orders:read'] }];

describe('proxy: oauth2 client credentials toward the upstream', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tokens: TokenEndpoint;
  let tollgate: LocalTollgate;
  const clock = new TestClock();
  let access = '';
  /** The upstream accepts tokens issued at or after this number. */
  let oldestAccepted = 1;

  beforeAll(async () => {
    process.env.PROXY_TEST_CLIENT_SECRET = CLIENT_SECRET;
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tokens = await startTokenEndpoint();
    upstream.behave((request, response) => {
      const presented = Number(/^Bearer up-(\d+)$/.exec(upstream.header(request, 'authorization')[0] ?? '')?.[1] ?? 0);
      if (presented < oldestAccepted) return response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: presented, body: request.body.toString() }));
    });
    tollgate = await startProxyTollgate({
      issuers,
      clock,
      rateLimit: { requestsPerMinute: 100_000 },
      proxy: {
        upstreamUrl: upstream.url,
        routes: ROUTES,
        upstreamAuth: {
          type: 'oauth2-client-credentials',
          tokenUrl: tokens.url,
          clientId: 'tollgate proxy',
          clientSecret: 'env:PROXY_TEST_CLIENT_SECRET',
          scope: 'orders.read orders.write',
          audience: 'https://orders.example',
        },
        timeoutMs: 1_000,
      },
    });
  });

  afterAll(async () => {
    await tollgate?.close();
    await tokens?.close();
    await upstream?.close();
    await issuers?.close();
    delete process.env.PROXY_TEST_CLIENT_SECRET;
  });

  let accessAt = 0;
  /** Calls the proxy with an access token that is valid at the test clock's time (the clock jumps by hours here). */
  const ensureAccess = async () => {
    if (clock.now() - accessAt > 600_000) {
      access = (await ciAccessToken(tollgate, issuers, { nowSeconds: Math.floor(clock.now() / 1000) })).access_token;
      accessAt = clock.now();
    }
  };
  const call = async (method = 'GET', body?: string) => {
    await ensureAccess();
    return rawRequest(tollgate.baseUrl, { method, path: '/proxy/orders/1', headers: bearer(access), body });
  };

  it('fetches one upstream token for 50 concurrent requests, authenticating per RFC 6749 §2.3.1', async () => {
    await ensureAccess(); // one session for all 50 calls: the subject of the test is the upstream token cache
    tokens.delayMs = 150; // every request arrives while the one fetch is in flight
    const answers = await Promise.all(Array.from({ length: 50 }, () => call()));
    tokens.delayMs = 0;
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    expect(tokens.requests).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.json.token))).toEqual(new Set([1]));
    const [first] = tokens.requests;
    // Form-encoded, then joined and base64-encoded: "tollgate+proxy:p%40ss+word%3A1".
    expect(first!.authorization).toBe(`Basic ${Buffer.from('tollgate+proxy:p%40ss+word%3A1').toString('base64')}`);
    expect(Object.fromEntries(first!.body)).toEqual({
      grant_type: 'client_credentials',
      scope: 'orders.read orders.write',
      audience: 'https://orders.example',
    });
  });

  it('reuses the cached token until shortly before it expires, then fetches a new one', async () => {
    const fetched = tokens.requests.length;
    clock.advance(3_600 - 61); // 10% of an hour is more than 60 s: replaced 60 s early
    expect((await call()).json.token).toBe(1);
    expect(tokens.requests.length).toBe(fetched);
    clock.advance(2);
    expect((await call()).json.token).toBe(2);
    expect(tokens.requests.length).toBe(fetched + 1);
  });

  it('on an upstream 401 refreshes the token and retries once, body and all', async () => {
    oldestAccepted = tokens.issued + 1; // the upstream revokes every token issued so far
    const before = upstream.received.length;
    const answer = await call('POST', '{"n":1}');
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ token: oldestAccepted, body: '{"n":1}' });
    const attempts = upstream.received.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts.map((attempt) => attempt.body.toString())).toEqual(['{"n":1}', '{"n":1}']);
  });

  it('retries only once: a second 401 goes to the client', async () => {
    oldestAccepted = Number.MAX_SAFE_INTEGER;
    const before = upstream.received.length;
    const fetched = tokens.requests.length;
    const answer = await call();
    expect(answer.status).toBe(401);
    expect(upstream.received.length - before).toBe(2);
    expect(tokens.requests.length - fetched).toBe(1);
    oldestAccepted = 1;
  });

  it.each([
    ['answers 500', 'error'],
    ['answers without an access_token', 'garbage'],
  ] as const)('answers 502 UPSTREAM_UNAVAILABLE when the token endpoint %s, and does not cache the failure', async (_name, mode) => {
    clock.advance(3_600); // the cached token is due for replacement
    tokens.mode = mode;
    const failed = await call();
    expect(failed.status).toBe(502);
    expect(failed.json).toEqual({ error: 'upstream_unavailable', error_description: 'the upstream could not be reached', code: 'UPSTREAM_UNAVAILABLE' });
    tokens.mode = 'ok';
    const fetched = tokens.requests.length;
    expect((await call()).status).toBe(200);
    expect(tokens.requests.length).toBe(fetched + 1);
  });

  it('answers 504 UPSTREAM_TIMEOUT when the token endpoint does not answer within timeoutMs', async () => {
    clock.advance(3_600);
    tokens.delayMs = 1_500;
    const answer = await call();
    tokens.delayMs = 0;
    expect(answer.status).toBe(504);
    expect(answer.json.code).toBe('UPSTREAM_TIMEOUT');
  });
});

describe('proxy: static upstream credentials from secret refs', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let secrets: FakeSecretsManager;
  const saved = { ...process.env };
  const started: LocalTollgate[] = [];

  beforeAll(async () => {
    secrets = await startFakeSecretsManager();
    secrets.createSecret('prod/orders-api', JSON.stringify({ apiKey: 'sm-api-key', other: 'x' }));
    secrets.createSecret('prod/orders-token', 'sm-bearer-token');
    Object.assign(process.env, {
      SECRETS_MANAGER_ENDPOINT: secrets.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    });
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
  });

  afterAll(async () => {
    for (const tollgate of started) await tollgate.close();
    await upstream?.close();
    await issuers?.close();
    await secrets?.close();
    for (const key of ['SECRETS_MANAGER_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  async function proxyWith(upstreamAuth: NonNullable<Parameters<typeof startProxyTollgate>[0]['proxy']>['upstreamAuth']) {
    const tollgate = await startProxyTollgate({
      issuers,
      observability: recordingObservability(),
      proxy: { upstreamUrl: upstream.url, routes: ROUTES, upstreamAuth },
    });
    started.push(tollgate);
    const { access_token } = await ciAccessToken(tollgate, issuers);
    const before = upstream.received.length;
    const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { ...bearer(access_token), 'x-api-key': 'client-key' } });
    return { answer, seen: upstream.received.slice(before), tollgate };
  }

  it('injects a header credential read from a JSON member of a Secrets Manager secret', async () => {
    const { answer, seen } = await proxyWith({ type: 'header', name: 'X-Api-Key', value: 'aws-secretsmanager:prod/orders-api#apiKey' });
    expect(answer.status).toBe(200);
    expect(upstream.header(seen[0]!, 'x-api-key')).toEqual(['sm-api-key']);
  });

  it('injects a bearer credential read from a Secrets Manager secret', async () => {
    const { answer, seen } = await proxyWith({ type: 'bearer', token: 'aws-secretsmanager:prod/orders-token' });
    expect(answer.status).toBe(200);
    expect(upstream.header(seen[0]!, 'authorization')).toEqual(['Bearer sm-bearer-token']);
    expect(upstream.header(seen[0]!, 'x-api-key')).toEqual(['client-key']);
  });

  it('answers 503 SECRETS_UNAVAILABLE with Retry-After when the secret cannot be read, and never calls the upstream', async () => {
    const { answer, seen, tollgate } = await proxyWith({ type: 'bearer', token: 'aws-secretsmanager:prod/absent' });
    expect(seen).toHaveLength(0);
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the service is temporarily unavailable, retry later',
      code: 'SECRETS_UNAVAILABLE',
    });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(tollgate.baseUrl).toBeDefined();
  });
});
