import { forwardableRequestHeaders, headerPairs, headerSafe, returnableResponseHeaders, type HeaderPair } from '../../src/domain/header-rules';

describe('forwardableRequestHeaders', () => {
  const inbound: HeaderPair[] = [
    ['accept', 'application/json'],
    ['content-type', 'application/json'],
    ['authorization', 'Bearer client-token'],
    ['cookie', 'session=1'],
    ['host', 'evil.example'],
    ['connection', 'keep-alive, X-Secret-Hop'],
    ['x-secret-hop', 'dropped because Connection names it'],
    ['keep-alive', 'timeout=5'],
    ['te', 'trailers'],
    ['trailer', 'x-checksum'],
    ['transfer-encoding', 'chunked'],
    ['upgrade', 'websocket'],
    ['proxy-authorization', 'Basic abc'],
    ['proxy-connection', 'keep-alive'],
    ['x-tollgate-subject', 'spoofed'],
    ['x-tollgate-scopes', 'admin'],
    ['x-forwarded-for', '10.0.0.1'],
    ['x-forwarded-host', 'evil.example'],
    ['x-forwarded-proto', 'http'],
    ['forwarded', 'for=10.0.0.1'],
    ['x-real-ip', '10.0.0.1'],
    ['content-length', '12'],
    ['expect', '100-continue'],
    ['x-api-key', 'client-key'],
    ['x-http-method-override', 'DELETE'],
    ['x-http-method', 'DELETE'],
    ['x-method-override', 'DELETE'],
    ['x-request-id', 'abc'],
    ['x-amzn-trace-id', 'Root=1-abc'],
  ];

  it('drops credentials, hop-by-hop headers, spoofable origin headers, method overrides and X-Tollgate-*', () => {
    expect(forwardableRequestHeaders(inbound, { credentialHeader: 'X-Api-Key' })).toEqual([
      ['accept', 'application/json'],
      ['content-type', 'application/json'],
      ['x-request-id', 'abc'],
      ['x-amzn-trace-id', 'Root=1-abc'],
    ]);
  });

  it('keeps a client header named like nothing Tollgate sets', () => {
    expect(forwardableRequestHeaders(inbound)).toContainEqual(['x-api-key', 'client-key']);
  });

  it('narrows to the allow-list (plus Content-Type) and still never forwards a denied header', () => {
    expect(forwardableRequestHeaders(inbound, { allowList: ['X-Request-Id', 'Authorization', 'X-Tollgate-Subject', 'X-HTTP-Method-Override'] })).toEqual([
      ['content-type', 'application/json'],
      ['x-request-id', 'abc'],
    ]);
  });
});

describe('returnableResponseHeaders', () => {
  it('drops hop-by-hop headers, Set-Cookie, the length and Access-Control-*', () => {
    const upstream: HeaderPair[] = [
      ['content-type', 'text/plain'],
      ['content-length', '3'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['connection', 'close, x-hop'],
      ['x-hop', '1'],
      ['transfer-encoding', 'chunked'],
      ['access-control-allow-origin', '*'],
      ['etag', '"v1"'],
      ['cache-control', 'max-age=60'],
      ['x-custom', 'one'],
      ['x-custom', 'two'],
    ];
    expect(returnableResponseHeaders(upstream)).toEqual([
      ['content-type', 'text/plain'],
      ['etag', '"v1"'],
      ['cache-control', 'max-age=60'],
      ['x-custom', 'one'],
      ['x-custom', 'two'],
    ]);
  });
});

describe('headerSafe', () => {
  it.each([
    ['github:repo:acme/app:ref:refs/heads/main', 'github:repo:acme/app:ref:refs/heads/main'],
    ['orders:read deploy', 'orders:read deploy'],
    ['line\r\nX-Evil: 1', 'line%0D%0AX-Evil%3A%201'],
    ['zoë', 'zo%C3%AB'],
  ])('%j becomes %j', (value, safe) => {
    expect(headerSafe(value)).toBe(safe);
  });
});

describe('headerPairs', () => {
  it('lower-cases names and keeps repeated values from the multi-value map', () => {
    expect(headerPairs({ Accept: 'a', 'X-One': '2' }, { Accept: ['a'], 'X-One': ['1', '2'] })).toEqual([
      ['accept', 'a'],
      ['x-one', '1'],
      ['x-one', '2'],
    ]);
  });
});
