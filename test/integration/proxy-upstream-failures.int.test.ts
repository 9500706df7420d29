import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startEmbeddedStore } from '../../src/local/embedded-store';
import { bearer, ciAccessToken, rawRequest, recordingObservability, startProxyTollgate, startTestUpstream, streamedRequest, type TestUpstream } from '../services/proxy-harness';

const ROUTES = [{ methods: ['GET', 'POST'] as ('GET' | 'POST')[], path: '/orders/**', scopes: ['orders:read'] }];

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('proxy: upstream timeouts and failures', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  let access: string;
  const hanging: (() => void)[] = [];
  const observability = recordingObservability();
  const interruptions = () => observability.logger.lines.filter((line) => line.message === 'proxy response interrupted');

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({ issuers, observability, proxy: { upstreamUrl: upstream.url, routes: ROUTES, timeoutMs: 400, responseIdleTimeoutMs: 1_000 } });
    access = (await ciAccessToken(tollgate, issuers)).access_token;
  });

  afterAll(async () => {
    for (const release of hanging) release();
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  const call = (method = 'GET') => rawRequest(tollgate.baseUrl, { method, path: '/proxy/orders/1', headers: bearer(access), body: method === 'POST' ? '{}' : undefined });

  it('answers 504 UPSTREAM_TIMEOUT when the upstream does not answer within timeoutMs', async () => {
    upstream.behave((_request, response) => hanging.push(() => response.end()));
    const answer = await call();
    expect(answer.status).toBe(504);
    expect(answer.json).toEqual({ error: 'upstream_timeout', error_description: 'the upstream did not answer in time', code: 'UPSTREAM_TIMEOUT' });
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('cuts the streamed answer when the body goes quiet for responseIdleTimeoutMs: the status was sent, the rest ends abruptly and is logged', async () => {
    upstream.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('partial');
      hanging.push(() => response.end());
    });
    const answer = await streamedRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) });
    expect(answer).toMatchObject({ status: 200, ending: 'cut' });
    expect(answer.body.toString()).toBe('partial');
    expect(interruptions().at(-1)).toMatchObject({ level: 'WARN', fields: { reason: 'upstream_idle', status: 200, bytes: 7, route: '0' } });
  });

  it.each([['GET'], ['POST']])('answers 502 UPSTREAM_UNAVAILABLE when the upstream resets the connection (%s)', async (method) => {
    upstream.behave((_request, _response, socket) => socket.destroy());
    const answer = await call(method);
    expect(answer.status).toBe(502);
    expect(answer.json).toEqual({ error: 'upstream_unavailable', error_description: 'the upstream could not be reached', code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('ends the client’s answer abruptly when the upstream connection dies mid-body (never a second status)', async () => {
    upstream.behave((_request, response, socket) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      response.write('only a little', () => socket.destroy());
    });
    const answer = await streamedRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) });
    expect(answer).toMatchObject({ status: 200, ending: 'cut' });
    expect(answer.body.toString()).toBe('only a little');
    expect(interruptions().at(-1)).toMatchObject({ level: 'WARN', fields: { reason: 'upstream_failed', status: 200, bytes: 13 } });
  });

  it('answers 502 UPSTREAM_UNAVAILABLE when nothing listens on the upstream port', async () => {
    const refused = await startProxyTollgate({
      issuers,
      proxy: { upstreamUrl: `http://127.0.0.1:${await closedPort()}`, routes: ROUTES },
    });
    try {
      const token = (await ciAccessToken(refused, issuers)).access_token;
      const answer = await rawRequest(refused.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) });
      expect(answer.status).toBe(502);
      expect(answer.json.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await refused.close();
    }
  });

  it('recovers once the upstream answers again', async () => {
    upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    expect((await call()).status).toBe(200);
  });
});

describe('proxy: the store down', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  // Its own dynalite even under `npm run test:dynamodb-local`: this suite stops the store.
  let store: { endpoint: string; close(): Promise<void> };
  const tables = { sessions: 'sessions-down', guards: 'guards-down' };
  let tollgate: LocalTollgate;

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    store = await startEmbeddedStore();
    tollgate = await startProxyTollgate({ issuers, store: { endpoint: store.endpoint, tables }, proxy: { upstreamUrl: upstream.url, routes: ROUTES } });
  });

  afterAll(async () => {
    await tollgate?.close();
    await store?.close(); // already stopped by the test unless it failed early
    await upstream?.close();
    await issuers?.close();
  });

  it('answers 503 temporarily_unavailable with STORE_UNAVAILABLE and Retry-After, and never forwards', async () => {
    const access = (await ciAccessToken(tollgate, issuers)).access_token;
    await store.close();
    const before = upstream.received.length;
    const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) });
    expect(upstream.received.length).toBe(before);
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the service is temporarily unavailable, retry later',
      code: 'STORE_UNAVAILABLE',
    });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
