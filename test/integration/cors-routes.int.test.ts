import { request } from '../support/http';
import { startTokenSuite, type TokenSuite } from './token-fixtures';

const APP = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';

/** CORS on every browser-facing route of the local server (the same handlers and OPTIONS routes as in AWS), over HTTP. */
describe('CORS on the browser-facing routes', () => {
  let suite: TokenSuite;
  let base: string;

  beforeAll(async () => {
    suite = await startTokenSuite({ config: { cors: { allowedOrigins: ['http://localhost:*'], maxAgeSeconds: 120 }, rateLimit: { tokenRequestsPerMinutePerIp: 3 } } });
    base = suite.tollgate.baseUrl;
  });
  afterAll(async () => {
    await suite?.close();
  });

  const preflight = (path: string, origin: string, method: string, headers?: string) =>
    request(`${base}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
    });
  const corsHeaders = (headers: Headers) => [...headers.keys()].filter((name) => name.startsWith('access-control-'));

  it.each([
    ['/token', 'POST', 'content-type, dpop', 'POST', 'Content-Type, DPoP'],
    ['/revoke', 'POST', 'content-type', 'POST', 'Content-Type'],
    ['/.well-known/jwks.json', 'GET', undefined, 'GET', null],
    ['/.well-known/oauth-authorization-server', 'GET', undefined, 'GET', null],
    // The local echo proxy's rules: a `*` rule allows every method.
    ['/proxy/orders/1', 'GET', 'authorization, dpop', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'authorization, dpop'],
  ])('answers the preflight of %s from an allowed origin, before anything else runs', async (path, method, asked, methods, allowed) => {
    const answer = await preflight(path, APP, method, asked);

    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer.headers.get('access-control-allow-methods')).toBe(methods);
    expect(answer.headers.get('access-control-allow-headers')).toBe(allowed);
    expect(answer.headers.get('access-control-max-age')).toBe('120');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it.each([['/token'], ['/revoke'], ['/.well-known/jwks.json'], ['/proxy/orders/1']])('refuses the preflight of %s from another origin with 403 and no CORS header', async (path) => {
    const answer = await preflight(path, FOREIGN, 'POST');

    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({ error: 'origin_not_allowed', error_description: 'this origin may not call Tollgate from a browser', code: 'ORIGIN_NOT_ALLOWED' });
    expect(corsHeaders(answer.headers)).toEqual([]);
  });

  it('keeps /verify server-to-server: no OPTIONS route, no CORS header', async () => {
    const options = await preflight('/verify', APP, 'POST');
    const answer = await request(`${base}/verify`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x' });

    expect(options.status).toBe(404);
    expect(answer.status).toBe(200);
    expect(corsHeaders(answer.headers)).toEqual([]);
  });

  it('answers a plain OPTIONS with Allow', async () => {
    const answer = await request(`${base}/token`, { method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('names an allowed origin on answers and errors, with the headers the client reads exposed, and varies on Origin', async () => {
    const jwks = await request(`${base}/.well-known/jwks.json`, { headers: { origin: APP } });
    const refused = await request(`${base}/token`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=tgr_x.y' });
    const revoked = await request(`${base}/revoke`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nothing' });

    for (const answer of [jwks, refused, revoked]) {
      expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
      expect(answer.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate, Retry-After, DPoP-Nonce');
      expect(answer.headers.get('vary')).toContain('Origin');
    }
    expect([jwks.status, refused.status, revoked.status]).toEqual([200, 400, 200]);
    expect(refused.json.error).toBe('invalid_grant');
  });

  it('gives another origin the same answer without any CORS header', async () => {
    const answer = await request(`${base}/.well-known/jwks.json`, { headers: { origin: FOREIGN } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('vary')).toBe('Origin');
    expect(corsHeaders(answer.headers)).toEqual([]);
  });

  it('lets an allowed page read a 429 and its Retry-After', async () => {
    let answer;
    for (let i = 0; i < 5; i++) {
      answer = await request(`${base}/token`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x' });
      if (answer.status === 429) break;
    }
    expect(answer!.status).toBe(429);
    expect(answer!.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer!.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
