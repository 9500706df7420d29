import { BROWSER_ROUTES, corsPolicyFor, CorsPolicy, proxyBrowserRoute } from '../../src/services/cors-policy';
import { matchesOrigin, parseOriginPattern } from '../../src/domain/origin-pattern';
import { loadConfig } from '../../src/config/config';

const settings = { allowCredentials: false, maxAgeSeconds: 600, exposeHeaders: [] };

describe('origin patterns', () => {
  it.each([
    ['https://app.example.com', 'https://app.example.com', true],
    ['https://app.example.com', 'HTTPS://APP.EXAMPLE.COM', true],
    ['https://app.example.com', 'http://app.example.com', false],
    ['https://app.example.com', 'https://app.example.com:8443', false],
    ['https://app.example.com:443', 'https://app.example.com', true],
    ['https://app.example.com', 'https://app.example.com.evil.example', false],
    ['https://*.example.com', 'https://pr-42.example.com', true],
    ['https://*.example.com', 'https://a.b.example.com', false],
    ['https://*.example.com', 'https://example.com', false],
    ['https://*.example.com', 'https://evilexample.com', false],
    ['https://*.example.com', 'https://-x.example.com', false],
    ['https://*.example.com', 'https://*.example.com', false],
    ['http://localhost:*', 'http://localhost:5173', true],
    ['http://localhost:*', 'http://localhost', true],
    ['http://localhost:*', 'http://localhost.evil.example:80', false],
    ['http://127.0.0.1:*', 'http://127.0.0.1:41234', true],
    ['http://[::1]:3000', 'http://[::1]:3000', true],
  ])('%s matches %s: %s', (pattern, origin, expected) => {
    expect(matchesOrigin(parseOriginPattern(pattern)!, origin)).toBe(expected);
  });

  it.each([['*'], ['null'], ['https://*'], ['https://*.com'], ['https://*.127.0.0.1'], ['https://app.example.com/'], ['https://app.example.com/path'], ['ftp://x.example'], ['https://a*b.example.com'], ['https://app.example.com:0'], ['https://app.example.com:70000'], ['https://user@app.example.com']])(
    'refuses %s as an allowed origin',
    (text) => {
      expect(parseOriginPattern(text)).toBeUndefined();
    },
  );
});

describe('CorsPolicy', () => {
  const policy = new CorsPolicy({ ...settings, allowedOrigins: ['https://app.example.com', 'https://*.preview.example.com'], allowCredentials: true, exposeHeaders: ['X-Total'] });

  it('answers the preflight of an allowed origin with the route’s methods and headers, never a wildcard', () => {
    expect(policy.preflight('https://app.example.com', BROWSER_ROUTES.token, 'content-type, dpop, x-other')).toEqual([
      ['Access-Control-Allow-Origin', 'https://app.example.com'],
      ['Access-Control-Allow-Methods', 'POST'],
      ['Access-Control-Max-Age', '600'],
      ['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
      ['Access-Control-Allow-Headers', 'Content-Type, DPoP'],
      ['Access-Control-Allow-Credentials', 'true'],
    ]);
  });

  it('echoes only well-formed requested header names at the proxy', () => {
    const route = proxyBrowserRoute([{ methods: ['GET'] }, { methods: ['POST', 'GET'] }]);
    expect(route.methods).toEqual(['GET', 'POST']);
    const answer = policy.preflight('https://pr-7.preview.example.com', route, 'authorization, content-type, x-bad header');
    expect(answer).toContainEqual(['Access-Control-Allow-Headers', 'authorization, content-type']);
    expect(answer).toContainEqual(['Access-Control-Allow-Origin', 'https://pr-7.preview.example.com']);
  });

  it.each([['https://evil.example'], ['null'], [undefined], ['https://app.example.com.evil.example'], ['https://a.b.preview.example.com']])('refuses the preflight of %s', (origin) => {
    expect(policy.preflight(origin, BROWSER_ROUTES.revoke, undefined)).toBeUndefined();
    expect(policy.responseHeaders(origin)).toEqual([]);
  });

  it('names an allowed origin on answers, with credentials and the headers the client reads', () => {
    expect(policy.responseHeaders('https://app.example.com')).toEqual([
      ['Access-Control-Allow-Origin', 'https://app.example.com'],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Access-Control-Expose-Headers', 'WWW-Authenticate, Retry-After, DPoP-Nonce, X-Total'],
    ]);
  });

  it('is off without origins', () => {
    const off = new CorsPolicy(undefined);
    expect(off.enabled).toBe(false);
    expect(off.responseHeaders('https://app.example.com')).toEqual([]);
  });

  it('is built once per config, from cors or else proxy.cors', () => {
    const trust = [{ name: 'gh', issuer: 'https://token.actions.githubusercontent.com', kind: 'ci' as const, audiences: ['t'], rules: [{ claims: { sub: 'x' }, scopes: ['a'] }] }];
    const top = loadConfig({ trust, cors: { allowedOrigins: ['https://app.example.com'] } });
    expect(corsPolicyFor(top)).toBe(corsPolicyFor(top));
    expect(corsPolicyFor(top).allows('https://app.example.com')).toBe(true);
    const legacy = loadConfig({ trust, proxy: { upstreamUrl: 'https://api.example.com', cors: { allowedOrigins: ['https://old.example.com'] } } });
    expect(corsPolicyFor(legacy).allows('https://old.example.com')).toBe(true);
    expect(() => loadConfig({ trust, cors: { allowedOrigins: ['*'] } })).toThrow(/cors\.allowedOrigins\[0\]/);
    expect(() =>
      loadConfig({ trust, cors: { allowedOrigins: ['https://a.example'] }, proxy: { upstreamUrl: 'https://api.example.com', cors: { allowedOrigins: ['https://b.example'] } } }),
    ).toThrow(/proxy\.cors: the top-level cors/);
  });
});
