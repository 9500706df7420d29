import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import {
  bearer,
  ciAccessToken,
  OK_JSON,
  rawRequest,
  recordingObservability,
  startProxyTollgate,
  startTestUpstream,
  streamedRequest,
  userAccessToken,
  type TestUpstream,
} from '../services/proxy-harness';

const API_KEY = `upstream-key-${randomBytes(8).toString('hex')}`;

describe('proxy: forwarding, header hygiene and errors over HTTP', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  const observability = recordingObservability();
  const clock = new TestClock();
  /** `orders:read orders:write deploy` (main branch of repository 74). */
  let writer: { access_token: string; refresh_token: string };
  /** `orders:read` only (a feature branch). */
  let reader: { access_token: string };

  beforeAll(async () => {
    process.env.PROXY_TEST_API_KEY = API_KEY;
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({
      issuers,
      clock,
      observability,
      proxy: {
        upstreamUrl: `${upstream.url}/base`,
        upstreamAuth: { type: 'header', name: 'X-Api-Key', value: 'env:PROXY_TEST_API_KEY' },
        routes: [
          { name: 'orders-read', methods: ['GET', 'HEAD'], path: '/orders/**', scopes: ['orders:read'] },
          { name: 'orders-write', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/orders/**', scopes: ['orders:write'] },
          { name: 'files', methods: ['GET', 'PUT'], path: '/files/*', scopes: ['orders:read'] },
          { name: 'deploy', methods: ['POST'], path: '/deployments', scopes: ['deploy'] },
        ],
        maxRequestBytes: 64 * 1024,
        maxResponseBytes: 8 * 1024 * 1024,
        cors: { allowedOrigins: ['https://app.example.com'], allowCredentials: true },
      },
    });
    const now = Math.floor(clock.now() / 1000);
    writer = await ciAccessToken(tollgate, issuers, { nowSeconds: now });
    reader = await ciAccessToken(tollgate, issuers, { nowSeconds: now, ref: 'refs/heads/feature' });
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
    delete process.env.PROXY_TEST_API_KEY;
  });

  beforeEach(() => {
    upstream.behave(OK_JSON);
  });

  /** Upstream requests seen while `act` ran. */
  async function seenBy<T>(act: () => Promise<T>): Promise<{ result: T; seen: TestUpstream['received'] }> {
    const before = upstream.received.length;
    const result = await act();
    return { result, seen: upstream.received.slice(before) };
  }

  describe('forwarding', () => {
    it('forwards method, canonical path, query and body to upstreamUrl + path, and returns the answer', async () => {
      upstream.behave((request, response) => {
        response.writeHead(201, { 'content-type': 'application/json', etag: '"v7"' }).end(JSON.stringify({ got: request.body.toString() }));
      });
      const body = JSON.stringify({ item: 'book', quantity: 2 });
      const { result, seen } = await seenBy(() =>
        rawRequest(tollgate.baseUrl, {
          method: 'POST',
          path: '/proxy/orders/42/it%65ms?b=2&a=1&a=x%20y&c=%26%3D',
          headers: { ...bearer(writer.access_token), 'content-type': 'application/json' },
          body,
        }),
      );
      expect(seen).toHaveLength(1);
      expect(seen[0]!.method).toBe('POST');
      expect(seen[0]!.url).toBe('/base/orders/42/items?b=2&a=1&a=x%20y&c=%26%3D');
      expect(seen[0]!.body.toString()).toBe(body);
      expect(upstream.header(seen[0]!, 'content-type')).toEqual(['application/json']);
      expect(result.status).toBe(201);
      expect(result.headers.etag).toBe('"v7"');
      expect(result.json).toEqual({ got: body });
    });

    it('keeps binary bodies byte-exact in both directions', async () => {
      const sent = randomBytes(48 * 1024);
      const returned = randomBytes(32 * 1024);
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'image/png' }).end(returned);
      });
      const { result, seen } = await seenBy(() =>
        rawRequest(tollgate.baseUrl, {
          method: 'PUT',
          path: '/proxy/files/blob.bin',
          headers: { ...bearer(writer.access_token), 'content-type': 'application/octet-stream' },
          body: sent,
        }),
      );
      expect(seen[0]!.body.equals(sent)).toBe(true);
      expect(result.status).toBe(200);
      expect(result.headers['content-type']).toBe('image/png');
      expect(result.body.equals(returned)).toBe(true);
    });

    it('passes a compressed body through untouched, with its Content-Encoding', async () => {
      const gzipped = gzipSync(Buffer.from(JSON.stringify({ big: 'x'.repeat(5000) })));
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipped);
      });
      const result = await rawRequest(tollgate.baseUrl, {
        path: '/proxy/orders/1',
        headers: { ...bearer(reader.access_token), 'accept-encoding': 'gzip' },
      });
      expect(result.headers['content-encoding']).toBe('gzip');
      expect(result.body.equals(gzipped)).toBe(true);
    });

    it('forwards HEAD and returns no body', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'x-count': '3' }).end();
      });
      const { result, seen } = await seenBy(() => rawRequest(tollgate.baseUrl, { method: 'HEAD', path: '/proxy/orders', headers: bearer(reader.access_token) }));
      expect(seen[0]!.method).toBe('HEAD');
      expect(result.status).toBe(200);
      expect(result.headers['x-count']).toBe('3');
      expect(result.body.length).toBe(0);
    });

    it('returns redirects as they are and never follows them', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      });
      const { result, seen } = await seenBy(() => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(reader.access_token) }));
      expect(seen).toHaveLength(1);
      expect(result.status).toBe(302);
      expect(result.headers.location).toBe('http://169.254.169.254/latest/meta-data/');
    });

    it.each([
      [404, 'application/problem+json', '{"title":"no such order"}'],
      [409, 'application/json', '{"error":"conflict"}'],
      [500, 'text/plain', 'upstream exploded'],
      [503, 'text/html', '<h1>maintenance</h1>'],
    ])('passes an upstream %i through unchanged', async (status, type, text) => {
      upstream.behave((_request, response) => {
        response.writeHead(status, { 'content-type': type, 'retry-after': '7' }).end(text);
      });
      const result = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/9', headers: bearer(reader.access_token) });
      expect(result.status).toBe(status);
      expect(result.headers['content-type']).toBe(type);
      expect(result.headers['retry-after']).toBe('7');
      expect(result.body.toString()).toBe(text);
    });

    it('passes an upstream 401 through without retrying when the credential is a static key', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(401, { 'www-authenticate': 'ApiKey realm="upstream"' }).end('bad key');
      });
      const { result, seen } = await seenBy(() => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(reader.access_token) }));
      expect(seen).toHaveLength(1);
      expect(result.status).toBe(401);
      expect(result.headers['www-authenticate']).toBe('ApiKey realm="upstream"');
    });
    // Host, X-Forwarded-Host and Forwarded never move the upstream (no SSRF): test/security/proxy-abuse.int.test.ts.
  });

  describe('header hygiene', () => {
    it('drops the client’s credentials, spoofed identity, hop-by-hop headers; adds identity, X-Forwarded-* and the credential', async () => {
      const { seen } = await seenBy(() =>
        rawRequest(tollgate.baseUrl, {
          path: '/proxy/orders/1',
          headers: {
            ...bearer(writer.access_token),
            cookie: 'session=client-cookie',
            'x-api-key': 'client-supplied-key',
            'x-tollgate-subject': 'github:repo:evil/app:ref:refs/heads/main',
            'X-Tollgate-Scopes': 'admin',
            'x-tollgate-kind': 'user',
            'x-tollgate-repository': 'evil/app',
            'x-tollgate-anything': 'x',
            connection: 'keep-alive, X-Hop-Secret',
            'x-hop-secret': 'must not pass',
            'keep-alive': 'timeout=5',
            te: 'trailers',
            'proxy-authorization': 'Basic Zm9vOmJhcg==',
            'x-forwarded-for': '6.6.6.6',
            'x-real-ip': '6.6.6.6',
            'x-request-id': 'req-1',
            accept: 'application/json',
          },
        }),
      );
      const received = seen[0]!;
      const names = received.headers.map(([name]) => name);
      for (const dropped of ['authorization', 'cookie', 'x-hop-secret', 'keep-alive', 'te', 'proxy-authorization', 'x-real-ip', 'x-tollgate-anything']) {
        expect(names).not.toContain(dropped);
      }
      expect(upstream.header(received, 'x-api-key')).toEqual([API_KEY]);
      expect(upstream.header(received, 'x-tollgate-subject')).toEqual(['github:repo:acme/app:ref:refs/heads/main']);
      expect(upstream.header(received, 'x-tollgate-scopes')).toEqual(['orders:read orders:write deploy']);
      expect(upstream.header(received, 'x-tollgate-kind')).toEqual(['ci']);
      expect(upstream.header(received, 'x-tollgate-repository')).toEqual(['acme/app']);
      expect(upstream.header(received, 'x-tollgate-session')).toHaveLength(1);
      expect(upstream.header(received, 'x-tollgate-session')[0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
      // What API Gateway saw (its sourceIp), never what the client claimed.
      expect(upstream.header(received, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(upstream.header(received, 'x-forwarded-proto')).toEqual(['http']);
      expect(upstream.header(received, 'x-request-id')).toEqual(['req-1']);
      expect(upstream.header(received, 'accept')).toEqual(['application/json']);
    });

    it('sends a user’s identity without a repository', async () => {
      const user = await userAccessToken(tollgate, issuers, { sub: 'user_42', nowSeconds: Math.floor(clock.now() / 1000) });
      const { seen } = await seenBy(() => rawRequest(tollgate.baseUrl, { path: '/proxy/orders', headers: bearer(user.access_token) }));
      expect(upstream.header(seen[0]!, 'x-tollgate-subject')).toEqual(['clerk:user_42']);
      expect(upstream.header(seen[0]!, 'x-tollgate-kind')).toEqual(['user']);
      expect(upstream.header(seen[0]!, 'x-tollgate-repository')).toEqual([]);
    });

    it('returns the upstream’s headers minus Set-Cookie, hop-by-hop and Access-Control-*', async () => {
      upstream.behave((_request, response) => {
        response.setHeader('content-type', 'text/plain');
        response.setHeader('set-cookie', ['upstream_session=1; HttpOnly', 'tracking=2']);
        response.setHeader('connection', 'x-upstream-hop');
        response.setHeader('x-upstream-hop', 'secret');
        response.setHeader('access-control-allow-origin', '*');
        response.setHeader('x-multi', ['one', 'two']);
        response.writeHead(200).end('fine');
      });
      const result = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(reader.access_token) });
      expect(result.headers['set-cookie']).toBeUndefined();
      expect(result.headers['x-upstream-hop']).toBeUndefined();
      expect(result.headers['access-control-allow-origin']).toBeUndefined();
      expect(result.headers['x-multi']).toBe('one, two');
      expect(result.body.toString()).toBe('fine');
    });
  });

  describe('errors', () => {
    async function expectRefusal(
      request: Parameters<typeof rawRequest>[1],
      status: number,
      body: { error: string; error_description: string; code: string },
      challenge?: string,
    ) {
      const { result, seen } = await seenBy(() => rawRequest(tollgate.baseUrl, request));
      expect(seen).toHaveLength(0);
      expect(result.status).toBe(status);
      expect(result.json).toEqual(body);
      expect(result.headers['cache-control']).toBe('no-store');
      expect(result.headers['content-type']).toBe('application/json');
      expect(result.headers['www-authenticate']).toBe(challenge);
      return result;
    }

    it('AUTH_REQUIRED: 401 with a bare Bearer challenge when no token is sent', async () => {
      const body = { error: 'auth_required', error_description: 'a bearer access token is required', code: 'AUTH_REQUIRED' };
      await expectRefusal({ path: '/proxy/orders/1' }, 401, body, 'Bearer realm="tollgate"');
      await expectRefusal({ path: '/proxy/orders/1', headers: { authorization: 'Basic dXNlcjpwYXNz' } }, 401, body, 'Bearer realm="tollgate"');
    });

    it.each([
      ['a malformed token', 'Bearer not-a-jwt'],
      ['an empty token', 'Bearer '],
      ['a bad signature', 'SIGNATURE'],
      ['a subject token (wrong iss, aud and typ)', 'SUBJECT'],
    ])('TOKEN_INVALID: 401 invalid_token for %s', async (_name, authorization) => {
      let value = authorization;
      if (authorization === 'SIGNATURE') {
        const [header, payload, signature] = writer.access_token.split('.');
        value = `Bearer ${header}.${payload}.${signature!.slice(0, -4)}${signature!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      }
      if (authorization === 'SUBJECT') {
        const github = issuers.issuers.github!;
        value = `Bearer ${await github.sign(githubActionsClaims(github.issuer, Math.floor(clock.now() / 1000), { repositoryId: '74' }))}`;
      }
      await expectRefusal(
        { path: '/proxy/orders/1', headers: { authorization: value } },
        401,
        { error: 'invalid_token', error_description: 'the access token is not valid', code: 'TOKEN_INVALID' },
        'Bearer error="invalid_token"',
      );
    });

    it('TOKEN_EXPIRED: 401 invalid_token once the access token’s exp has passed', async () => {
      const token = await ciAccessToken(tollgate, issuers, { nowSeconds: Math.floor(clock.now() / 1000) });
      clock.advance(901);
      try {
        await expectRefusal(
          { path: '/proxy/orders/1', headers: bearer(token.access_token) },
          401,
          { error: 'invalid_token', error_description: 'the access token has expired', code: 'TOKEN_EXPIRED' },
          'Bearer error="invalid_token"',
        );
      } finally {
        clock.advance(-901);
      }
    });

    it('SESSION_ENDED: 401 invalid_token after the session is revoked', async () => {
      const token = await ciAccessToken(tollgate, issuers, { nowSeconds: Math.floor(clock.now() / 1000) });
      expect((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token.access_token) })).status).toBe(200);
      expect((await postForm(`${tollgate.baseUrl}/revoke`, { token: token.refresh_token })).status).toBe(200);
      await expectRefusal(
        { path: '/proxy/orders/1', headers: bearer(token.access_token) },
        401,
        { error: 'invalid_token', error_description: 'the session has ended', code: 'SESSION_ENDED' },
        'Bearer error="invalid_token"',
      );
    });

    it('INSUFFICIENT_SCOPE: 403 naming the scopes the matched rule requires', async () => {
      await expectRefusal(
        { method: 'POST', path: '/proxy/orders', headers: bearer(reader.access_token), body: '{}' },
        403,
        { error: 'insufficient_scope', error_description: 'the access token lacks a scope this route requires', code: 'INSUFFICIENT_SCOPE' },
        'Bearer error="insufficient_scope", scope="orders:write"',
      );
    });

    it('uses the token’s own (narrowed) scopes, not the session’s', async () => {
      const narrowed = await ciAccessToken(tollgate, issuers, { nowSeconds: Math.floor(clock.now() / 1000), scope: 'orders:read' });
      expect(narrowed.scope).toBe('orders:read');
      const result = await rawRequest(tollgate.baseUrl, { method: 'POST', path: '/proxy/deployments', headers: bearer(narrowed.access_token) });
      expect(result.status).toBe(403);
      expect(result.json.code).toBe('INSUFFICIENT_SCOPE');
    });

    it.each([
      ['GET', '/proxy/admin/users'],
      ['DELETE', '/proxy/files/a'],
      ['GET', '/proxy/deployments'],
      ['GET', '/proxy/Orders/1'],
    ])('ROUTE_NOT_ALLOWED: 403 for %s %s (deny by default)', async (method, path) => {
      await expectRefusal(
        { method, path, headers: bearer(writer.access_token) },
        403,
        { error: 'route_not_allowed', error_description: 'no proxy route allows this request', code: 'ROUTE_NOT_ALLOWED' },
      );
    });

    it('REQUEST_TOO_LARGE: 413 above proxy.maxRequestBytes', async () => {
      await expectRefusal(
        { method: 'PUT', path: '/proxy/files/big', headers: bearer(writer.access_token), body: Buffer.alloc(64 * 1024 + 1) },
        413,
        { error: 'invalid_request', error_description: 'the request body is too large', code: 'REQUEST_TOO_LARGE' },
      );
    });

    it('UPSTREAM_RESPONSE_TOO_LARGE: 502 before the first byte when the upstream declares more than proxy.maxResponseBytes', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(8 * 1024 * 1024 + 1) });
        response.write(Buffer.alloc(1024, 1));
      });
      const result = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/export', headers: bearer(reader.access_token) });
      expect(result.status).toBe(502);
      expect(result.json).toEqual({
        error: 'upstream_response_too_large',
        error_description: 'the upstream response is too large to return',
        code: 'UPSTREAM_RESPONSE_TOO_LARGE',
      });
    });

    it('cuts a body of undeclared length once it passes proxy.maxResponseBytes (the status is already sent)', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(Buffer.alloc(9 * 1024 * 1024, 'a'));
      });
      const result = await streamedRequest(tollgate.baseUrl, { path: '/proxy/orders/export', headers: bearer(reader.access_token) });
      expect(result).toMatchObject({ status: 200, ending: 'cut' });
      expect(result.body.length).toBeLessThanOrEqual(8 * 1024 * 1024);
    });

    it('streams a 4.8 MB binary body whole (a streamed answer has no base64 or 6 MB budget)', async () => {
      const body = Buffer.alloc(4_800_000, 7);
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      });
      const result = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/export', headers: bearer(reader.access_token) });
      expect(result.status).toBe(200);
      expect(result.body.equals(body)).toBe(true);
    });

    it('returns a 4.8 MB text body, which fits unencoded', async () => {
      upstream.behave((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/csv' }).end(Buffer.alloc(4_800_000, 'a'));
      });
      const result = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/export', headers: bearer(reader.access_token) });
      expect(result.status).toBe(200);
      expect(result.body.length).toBe(4_800_000);
    });
  });

  // Path traversal and encoding tricks (over HTTP and as raw API Gateway events) are the attack suite's table:
  // test/security/proxy-abuse.int.test.ts.

  describe('CORS', () => {
    it('answers a preflight from an allowed origin without a token and without calling the upstream', async () => {
      const { result, seen } = await seenBy(() =>
        rawRequest(tollgate.baseUrl, {
          method: 'OPTIONS',
          path: '/proxy/orders/1',
          headers: {
            origin: 'https://app.example.com',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization, content-type',
          },
        }),
      );
      expect(seen).toHaveLength(0);
      expect(result.status).toBe(204);
      expect(result.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(result.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
      expect(result.headers['access-control-allow-headers']).toBe('authorization, content-type');
      expect(result.headers['access-control-allow-credentials']).toBe('true');
      expect(result.headers.vary).toContain('Origin');
    });

    it('refuses a preflight from any other origin', async () => {
      const result = await rawRequest(tollgate.baseUrl, {
        method: 'OPTIONS',
        path: '/proxy/orders/1',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      });
      expect(result.status).toBe(403);
      expect(result.json.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(result.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('echoes only an allowed origin on responses, errors included, with Vary: Origin', async () => {
      const allowed = await rawRequest(tollgate.baseUrl, {
        path: '/proxy/orders/1',
        headers: { ...bearer(reader.access_token), origin: 'https://app.example.com' },
      });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(allowed.headers.vary).toBe('Origin');
      const other = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect(other.headers.vary).toBe('Origin');
      const refused = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { origin: 'https://app.example.com' } });
      expect(refused.status).toBe(401);
      expect(refused.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(refused.headers['access-control-expose-headers']).toContain('WWW-Authenticate');
    });
  });

  describe('logs', () => {
    it('writes one line per proxied request with method, route, status, latency, subject and sid, and never a credential', async () => {
      const before = observability.logger.lines.length;
      await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/7', headers: { ...bearer(writer.access_token), cookie: 'c=secret-cookie' } });
      const lines = observability.logger.lines.slice(before).filter((line) => line.message === 'proxy request');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields).toMatchObject({
        method: 'GET',
        route: 'orders-read',
        status: 200,
        statusClass: '2xx',
        sub: 'github:repo:acme/app:ref:refs/heads/main',
      });
      expect(typeof lines[0]!.fields.upstreamLatencyMs).toBe('number');
      expect(lines[0]!.fields.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const everything = observability.logger.text();
      expect(everything).not.toContain(writer.access_token);
      expect(everything).not.toContain(writer.access_token.split('.')[2]);
      expect(everything).not.toContain(writer.refresh_token);
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toContain('secret-cookie');
    });

    it('logs a refusal with its code and private detail, and the route it matched', async () => {
      const before = observability.logger.lines.length;
      await rawRequest(tollgate.baseUrl, { method: 'POST', path: '/proxy/orders', headers: bearer(reader.access_token) });
      const line = observability.logger.lines.slice(before).find((entry) => entry.message === 'proxy request');
      expect(line?.fields).toMatchObject({ route: 'orders-write', status: 403, code: 'INSUFFICIENT_SCOPE', detail: 'missing orders:write' });
    });
  });
});
