import type { Context } from 'aws-lambda';
import { createProxyHandler } from '../../src/handlers/proxy-handler';
import type { HttpEvent } from '../../src/http/api-event';
import { MAX_PROXY_PATH_LENGTH } from '../../src/domain/path-hygiene';
import { TestClock } from '../support/clock';
import { testObservability } from '../support/tollgate';
import type { TokenBody } from '../integration/token-fixtures';
import { bearer, type ReceivedRequest } from '../services/proxy-harness';
import { expectNothingLogged, PROXY_REFUSALS, startAttackSuite, type AttackSuite } from './attack-suite';

/**
 * Abuse of the proxy (`ANY /proxy/{proxy+}`), one table per family: path
 * traversal and encoding tricks (refused before the token is even read),
 * spoofed identity and origin headers (the upstream sees only Tollgate's),
 * `Host` and other attempts to move the upstream (it never changes: no SSRF),
 * and method overrides (the checked method is the forwarded method). The
 * requests carry a valid token with `orders:read`, so only the attack itself
 * can be why a request is refused. docs/security.md reproduces these tables.
 */

/** Raw paths (sent byte for byte, `fetch` would normalise them) that are 400 INVALID_PATH, never forwarded. */
const PATHS: [string, string][] = [
  ['dot-dot', '/proxy/orders/../admin'],
  ['dot', '/proxy/orders/./1'],
  ['%2e%2e', '/proxy/orders/%2e%2e/admin'],
  ['%2E%2E', '/proxy/orders/%2E%2E/admin'],
  ['.%2e', '/proxy/orders/.%2e/admin'],
  ['%2E.', '/proxy/orders/%2E./admin'],
  ['%2f', '/proxy/orders%2f..%2fadmin'],
  ['%2F', '/proxy/orders%2Fadmin'],
  ['backslash', '/proxy/orders\\..\\admin'],
  ['%5c', '/proxy/orders%5c..%5cadmin'],
  ['%5C', '/proxy/orders%5C..%5Cadmin'],
  ['%00', '/proxy/orders/1%00.json'],
  ['%0d%0a', '/proxy/orders/1%0d%0aX-Evil:%201'],
  ['%1f', '/proxy/orders/%1f'],
  ['%7f', '/proxy/orders/%7f'],
  ['a C1 control (%c2%85, NEL)', '/proxy/orders/%c2%85'],
  ['empty segment', '/proxy/orders//1'],
  ['an empty first segment', '/proxy//orders/1'],
  ['trailing slash', '/proxy/orders/'],
  ['double encoding', '/proxy/orders/%252e%252e/admin'],
  ['a literal percent (%25)', '/proxy/orders/100%25'],
  ['a malformed percent-encoding', '/proxy/orders/%zz'],
  ['a truncated percent-encoding', '/proxy/orders/%2'],
  ['IIS %u encoding', '/proxy/orders/%u002e%u002e/admin'],
  ['overlong UTF-8 dots', '/proxy/orders/%c0%ae%c0%ae/admin'],
  ['overlong UTF-8 slash', '/proxy/orders%c0%afadmin'],
  ['fullwidth dots', '/proxy/orders/%ef%bc%8e%ef%bc%8e/admin'],
  ['a fullwidth solidus', '/proxy/orders%ef%bc%8fadmin'],
  ['a two-dot leader (NFKC "..")', '/proxy/orders/%e2%80%a5/admin'],
  ['matrix parameter', '/proxy/orders/..;/admin'],
  ['a matrix parameter in a segment', '/proxy/orders;x=1/1'],
  ['%3b', '/proxy/orders%3b/1'],
  ['a fragment', '/proxy/orders/1#admin'],
  ['a path over 4096 characters', `/proxy/orders/${'a'.repeat(MAX_PROXY_PATH_LENGTH)}`],
  ['a URL in the path', '/proxy/http://169.254.169.254/latest/meta-data'],
];

/** Paths no HTTP client sends, as API Gateway events straight to the handler. */
const EVENT_PATHS: [string, string][] = [
  ['raw NUL', '/proxy/orders/1\u0000'],
  ['raw CR LF', '/proxy/orders/1\r\nX-Evil: 1'],
  ['raw tab', '/proxy/orders/\t1'],
  ['raw DEL', '/proxy/orders/\u007f'],
  ['raw backslash', '/proxy/orders\\admin'],
  ['raw space', '/proxy/orders/a b'],
  ['raw non-ASCII', '/proxy/orders/caf\u00e9'],
  ['a raw fullwidth dot pair', '/proxy/orders/\uff0e\uff0e/admin'],
];

/** Headers a client sends to lie about itself; what the upstream must see for that header instead (`[]`: nothing). */
const SPOOFS: [string, Record<string, string>, string, (s: AttackSuite, session: string) => string[]][] = [
  ['X-Tollgate-Subject', { 'x-tollgate-subject': 'github:repo:evil/app:ref:refs/heads/main' }, 'x-tollgate-subject', () => ['github:repo:acme/app:ref:refs/heads/main']],
  ['X-Tollgate-Session', { 'x-tollgate-session': 'AAAAAAAAAAAAAAAAAAAAAA' }, 'x-tollgate-session', (_s, sid) => [sid]],
  ['X-Tollgate-Scopes', { 'x-tollgate-scopes': 'orders:admin' }, 'x-tollgate-scopes', () => ['orders:read deploy']],
  ['X-TOLLGATE-SCOPES (upper case)', { 'X-TOLLGATE-SCOPES': 'orders:admin' }, 'x-tollgate-scopes', () => ['orders:read deploy']],
  ['X-Tollgate-Kind', { 'x-tollgate-kind': 'user' }, 'x-tollgate-kind', () => ['ci']],
  ['X-Tollgate-Repository', { 'x-tollgate-repository': 'evil/app' }, 'x-tollgate-repository', () => ['acme/app']],
  ['an unknown X-Tollgate-* header', { 'x-tollgate-admin': 'true' }, 'x-tollgate-admin', () => []],
  ['X-Forwarded-For', { 'x-forwarded-for': '6.6.6.6, 10.0.0.1' }, 'x-forwarded-for', () => ['127.0.0.1']],
  ['X-Real-IP', { 'x-real-ip': '6.6.6.6' }, 'x-real-ip', () => []],
  ['Forwarded', { forwarded: 'for=6.6.6.6;host=169.254.169.254;proto=https' }, 'forwarded', () => []],
  ['X-Forwarded-Host', { 'x-forwarded-host': '169.254.169.254' }, 'x-forwarded-host', () => []],
  ['X-Forwarded-Proto', { 'x-forwarded-proto': 'gopher' }, 'x-forwarded-proto', () => ['http']],
  ['X-Forwarded-Port', { 'x-forwarded-port': '22' }, 'x-forwarded-port', () => []],
  ['X-Forwarded-Prefix', { 'x-forwarded-prefix': '/admin' }, 'x-forwarded-prefix', () => []],
  ['the upstream credential header (X-Api-Key)', { 'x-api-key': 'client-chosen-key' }, 'x-api-key', (s) => [s.apiKey]],
  ['Cookie', { cookie: 'session=stolen' }, 'cookie', () => []],
  ['Proxy-Authorization', { 'proxy-authorization': 'Basic Zm9vOmJhcg==' }, 'proxy-authorization', () => []],
  ['Connection naming an identity header', { connection: 'x-tollgate-subject', 'x-tollgate-subject': 'evil' }, 'x-tollgate-subject', () => ['github:repo:acme/app:ref:refs/heads/main']],
  ['X-HTTP-Method-Override', { 'x-http-method-override': 'DELETE' }, 'x-http-method-override', () => []],
  ['X-HTTP-Method', { 'x-http-method': 'DELETE' }, 'x-http-method', () => []],
  ['X-Method-Override', { 'x-method-override': 'DELETE' }, 'x-method-override', () => []],
];

/** `Host` values pointing elsewhere: the request still goes to upstreamUrl's host, with its Host. */
const HOSTS: string[] = ['metadata.google.internal', '169.254.169.254', 'localhost:22', '[::1]:8080', 'evil.example.com'];

describe('abuse of the proxy', () => {
  let suite: AttackSuite;
  const clock = new TestClock();
  /** `orders:read deploy` (a GitHub Actions run on main). */
  let reader: TokenBody;
  let sid: string;

  beforeAll(async () => {
    suite = await startAttackSuite({ clock });
    reader = await suite.session('ci');
    sid = JSON.parse(Buffer.from(reader.access_token.split('.')[1]!, 'base64url').toString()).sid;
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** Upstream requests seen while `act` ran. */
  async function seenBy<T>(act: () => Promise<T>): Promise<{ result: T; seen: ReceivedRequest[] }> {
    const before = suite.upstream.received.length;
    const result = await act();
    return { result, seen: suite.upstream.received.slice(before) };
  }

  describe('path traversal and encoding tricks', () => {
    it.each(PATHS)('%s: 400 INVALID_PATH before the token is read, never forwarded, nothing written', async (_name, path) => {
      const before = await suite.snapshot();

      const { result, seen } = await seenBy(() => suite.proxy({ path, headers: bearer(reader.access_token) }));

      expect(seen).toHaveLength(0);
      expect(result.status).toBe(400);
      expect(result.json).toEqual(PROXY_REFUSALS.INVALID_PATH.body);
      expect(result.headers['cache-control']).toBe('no-store');
      expect(await suite.snapshot()).toEqual(before);
    });

    it('refuses a bad path even without a token (path hygiene runs first)', async () => {
      const result = await suite.proxy({ path: '/proxy/orders/%2e%2e/admin' });

      expect(result.status).toBe(400);
      expect(result.json).toEqual(PROXY_REFUSALS.INVALID_PATH.body);
    });

    it.each(EVENT_PATHS)('%s in an API Gateway event (which HTTP clients cannot send): 400 INVALID_PATH, never forwarded', async (_name, path) => {
      const handler = createProxyHandler(suite.tollgate.services, testObservability());

      const { result, seen } = await seenBy(() => handler(apiGatewayEvent(path, reader.access_token), lambdaContext()));

      expect(seen).toHaveLength(0);
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body)).toEqual(PROXY_REFUSALS.INVALID_PATH.body);
    });

    it('a bearer token over 16 KiB in an API Gateway event: 401 TOKEN_INVALID, never forwarded', async () => {
      const handler = createProxyHandler(suite.tollgate.services, testObservability());

      const { result, seen } = await seenBy(() => handler(apiGatewayEvent('/proxy/orders/1', `${reader.access_token}${'A'.repeat(16_384)}`), lambdaContext()));

      expect(seen).toHaveLength(0);
      expect(result.statusCode).toBe(401);
      expect(JSON.parse(result.body)).toEqual(PROXY_REFUSALS.TOKEN_INVALID.body);
    });

    it('a request head over 16 KiB over HTTP: 431 from the server in front (API Gateway: 10 KiB), never forwarded', async () => {
      const { result, seen } = await seenBy(() => suite.proxy({ path: '/proxy/orders/1', headers: bearer(`${reader.access_token}${'A'.repeat(16_384)}`) }));

      expect(seen).toHaveLength(0);
      expect(result.status).toBe(431);
    });

    it('forwards what passes as the canonical path it checked, at the configured upstream (an "@" cannot become a host)', async () => {
      const { result, seen } = await seenBy(() => suite.proxy({ path: '/proxy/orders/@169.254.169.254/%7Eme%2a', headers: bearer(reader.access_token) }));

      expect(result.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.url).toBe('/orders/@169.254.169.254/~me%2A');
      expect(suite.upstream.header(seen[0]!, 'host')).toEqual([new URL(suite.upstream.url).host]);
    });
  });

  describe('spoofed headers', () => {
    it.each(SPOOFS)('%s: the upstream sees only what Tollgate sets', async (_name, headers, name, expected) => {
      const { result, seen } = await seenBy(() => suite.proxy({ path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), ...headers } }));

      expect(result.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.method).toBe('GET');
      expect(suite.upstream.header(seen[0]!, name)).toEqual(expected(suite, sid));
      expect(suite.upstream.header(seen[0]!, 'authorization')).toEqual([]);
    });

    it.each(HOSTS)('Host: %s never moves the upstream (no SSRF)', async (host) => {
      const { result, seen } = await seenBy(() =>
        suite.proxy({ path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), host, 'x-forwarded-host': host } }),
      );

      expect(result.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.url).toBe('/orders/1');
      expect(suite.upstream.header(seen[0]!, 'host')).toEqual([new URL(suite.upstream.url).host]);
      expect(suite.upstream.header(seen[0]!, 'x-forwarded-host')).toEqual([]);
    });
  });

  describe('method overrides: the method checked is the method forwarded', () => {
    it('a GET with X-HTTP-Method-Override: DELETE is checked and forwarded as a GET, without the header', async () => {
      const { result, seen } = await seenBy(() =>
        suite.proxy({ path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), 'x-http-method-override': 'DELETE' } }),
      );

      expect(result.status).toBe(200);
      expect(seen[0]!.method).toBe('GET');
      expect(suite.upstream.header(seen[0]!, 'x-http-method-override')).toEqual([]);
    });

    it('a POST overriding to GET is still checked as a POST: 403 INSUFFICIENT_SCOPE (orders:write), never forwarded', async () => {
      const { result, seen } = await seenBy(() =>
        suite.proxy({ method: 'POST', path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), 'x-http-method-override': 'GET' }, body: '{}' }),
      );

      expect(seen).toHaveLength(0);
      expect(result.status).toBe(403);
      expect(result.json).toEqual({ error: 'insufficient_scope', error_description: 'the access token lacks a scope this route requires', code: 'INSUFFICIENT_SCOPE' });
    });

    it.each([['TRACE'], ['PROPFIND'], ['PURGE']])('%s, which no rule names: 403 ROUTE_NOT_ALLOWED, never forwarded', async (method) => {
      const { result, seen } = await seenBy(() => suite.proxy({ method, path: '/proxy/orders/1', headers: bearer(reader.access_token) }));

      expect(seen).toHaveLength(0);
      expect(result.status).toBe(403);
      expect(result.json).toEqual(PROXY_REFUSALS.ROUTE_NOT_ALLOWED.body);
    });

    it('an override parameter (?_method=DELETE) passes untouched: it is the upstream’s to ignore (docs/security.md)', async () => {
      const { result, seen } = await seenBy(() => suite.proxy({ path: '/proxy/orders/1?_method=DELETE', headers: bearer(reader.access_token) }));

      expect(result.status).toBe(200);
      expect(seen[0]!.method).toBe('GET');
      expect(seen[0]!.url).toBe('/orders/1?_method=DELETE');
    });
  });

  it('logged none of the tokens, credentials or Authorization values it handled', () => {
    expectNothingLogged(suite);
  });
});

/** An API Gateway REST (payload v1) event for the proxy resource, as API Gateway builds it. */
function apiGatewayEvent(path: string, token: string): HttpEvent {
  return {
    resource: '/proxy/{proxy+}',
    path,
    httpMethod: 'GET',
    headers: { Authorization: `Bearer ${token}` },
    multiValueHeaders: { Authorization: [`Bearer ${token}`] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice('/proxy/'.length) },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'attack-suite', identity: { sourceIp: '198.51.100.7' }, stage: 'prod' } as HttpEvent['requestContext'],
  };
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'proxy',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:proxy',
    memoryLimitInMB: '512',
    awsRequestId: 'attack-suite',
    logGroupName: '/aws/lambda/proxy',
    logStreamName: 'attack-suite',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
