import { CorsPolicy } from '../../src/services/cors-policy';
import { ProxyError } from '../../src/domain/errors';
import type { HeaderPair } from '../../src/domain/header-rules';

const routes = [
  { methods: ['GET'], path: '/orders/**', scopes: [] },
  { methods: ['POST', 'GET'], path: '/orders', scopes: [] },
] as const;

describe('CorsPolicy', () => {
  const cors = new CorsPolicy({ allowedOrigins: ['https://app.example.com'], allowCredentials: true, maxAgeSeconds: 600 }, routes);
  const preflight: HeaderPair[] = [
    ['origin', 'https://app.example.com'],
    ['access-control-request-method', 'POST'],
    ['access-control-request-headers', 'authorization, content-type, x-bad header'],
  ];

  it('recognises a preflight only when configured, with Origin and Access-Control-Request-Method', () => {
    expect(cors.isPreflight('OPTIONS', preflight)).toBe(true);
    expect(cors.isPreflight('OPTIONS', [['origin', 'https://app.example.com']])).toBe(false);
    expect(cors.isPreflight('GET', preflight)).toBe(false);
    expect(new CorsPolicy(undefined, routes).isPreflight('OPTIONS', preflight)).toBe(false);
  });

  it('answers an allowed origin with that origin, the routes’ methods and the requested header names', () => {
    expect(cors.preflight(preflight)).toEqual({
      status: 204,
      headers: [
        ['Access-Control-Allow-Origin', 'https://app.example.com'],
        ['Access-Control-Allow-Methods', 'GET, POST'],
        ['Access-Control-Max-Age', '600'],
        ['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
        ['Access-Control-Allow-Headers', 'authorization, content-type'],
        ['Access-Control-Allow-Credentials', 'true'],
      ],
    });
  });

  it.each([['https://evil.example'], ['null'], ['https://app.example.com.evil.example']])('refuses the preflight of %s', (origin) => {
    const attempt = () => cors.preflight([['origin', origin], ['access-control-request-method', 'GET']]);
    expect(attempt).toThrow(ProxyError);
    expect(attempt).toThrow('ORIGIN_NOT_ALLOWED');
  });

  it('echoes only an allowed origin on responses, never a wildcard, and always varies on Origin', () => {
    expect(cors.decorate([['content-type', 'text/plain']], 'https://app.example.com', ['X-Total'])).toEqual([
      ['content-type', 'text/plain'],
      ['Vary', 'Origin'],
      ['Access-Control-Allow-Origin', 'https://app.example.com'],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Access-Control-Expose-Headers', 'WWW-Authenticate, Retry-After, DPoP-Nonce, X-Total'],
    ]);
    expect(cors.decorate([['vary', 'Accept-Encoding']], 'https://evil.example')).toEqual([['Vary', 'Accept-Encoding, Origin']]);
  });

  it('adds nothing when CORS is not configured', () => {
    expect(new CorsPolicy(undefined, routes).decorate([['etag', '"1"']], 'https://app.example.com')).toEqual([['etag', '"1"']]);
  });
});
