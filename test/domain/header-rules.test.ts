import { forwardableRequestHeaders, headerNameKey, headerPairs, headerSafe, returnableResponseHeaders, STRIPPED_REQUEST_HEADERS, type HeaderPair } from '../../src/domain/header-rules';
import type { AccessTokenClaims } from '../../src/services/access-tokens';
import { identityHeaders } from '../../src/services/proxy-service';

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

describe('look-alike header names (issue 13.2)', () => {
  /** What Tollgate sets on the way up: the identity headers (from the real builder), X-Forwarded-For/-Proto and the credential. */
  const ciClaims = { sub: 'github:repo:acme/app', sid: 'sid', scope: 'orders:read', kind: 'ci', gh: { repository: 'acme/app' } } as unknown as AccessTokenClaims;
  const SET = [...identityHeaders(ciClaims).map(([name]) => name), 'x-forwarded-for', 'x-forwarded-proto', 'x-api-key'];
  const PROTECTED = [...new Set([...SET, ...STRIPPED_REQUEST_HEADERS, 'proxy-authorization', 'proxy-connection', 'x-tollgate-anything'])];

  /** How a client could spell a name so that CGI/WSGI/Rack/PHP, or a case-insensitive lookup, read it as the original. */
  const lookAlikes = (name: string): string[] => [
    name.replace(/-/g, '_'),
    name.toUpperCase().replace(/-/g, '_'),
    name.replace(/-/, '_'),
    name.replace(/-([^-]*)$/, '_$1'),
    name.replace(/-/g, '.'),
    name.replace(/-/g, '_').replace(/^./, (c) => c.toUpperCase()),
    `${name}_`,
    name.toUpperCase(),
    name.replace(/\b./g, (c) => c.toUpperCase()),
  ];

  it('covers every header Tollgate sets or strips', () => {
    expect(SET).toEqual(expect.arrayContaining(['x-tollgate-subject', 'x-tollgate-session', 'x-tollgate-scopes', 'x-tollgate-kind', 'x-tollgate-repository']));
    expect(PROTECTED.length).toBeGreaterThanOrEqual(30);
  });

  it.each(PROTECTED)('no spelling of %s reaches the upstream', (name) => {
    const inbound = [[name, 'forged'], ...lookAlikes(name).map((alike): HeaderPair => [alike, 'forged'])] as HeaderPair[];

    const forwarded = forwardableRequestHeaders(inbound, { credentialHeader: 'X-Api-Key' });

    expect(forwarded).toEqual([]);
  });

  it.each(PROTECTED)('no spelling of %s passes an allow-list that names it either', (name) => {
    const inbound = lookAlikes(name).map((alike): HeaderPair => [alike, 'forged']);

    expect(forwardableRequestHeaders(inbound, { allowList: [name, ...lookAlikes(name).filter((alike) => /^[A-Za-z0-9-]+$/.test(alike))], credentialHeader: 'X-Api-Key' })).toEqual([]);
  });

  it.each([
    ['x_request_id'],
    ['x.request.id'],
    ['x~custom'],
    ['accept_language'],
  ])('drops %s: only letters, digits and - are forwarded (nginx’s default)', (name) => {
    expect(forwardableRequestHeaders([[name, 'v'], ['x-request-id', 'kept']])).toEqual([['x-request-id', 'kept']]);
  });

  it('a Connection header naming a header with _ drops its - spelling too', () => {
    expect(forwardableRequestHeaders([['connection', 'x_secret'], ['x-secret', 'hop'], ['x-other', 'kept']])).toEqual([['x-other', 'kept']]);
  });

  it('headerNameKey folds case and every non-alphanumeric character', () => {
    expect(headerNameKey('X_Tollgate.Subject')).toBe('x-tollgate-subject');
  });
});

describe('headerSafe never throws', () => {
  it.each([
    ['a lone high surrogate', 'a\uD800b', 'a%EF%BF%BDb'],
    ['a lone low surrogate', '\uDC00', '%EF%BF%BD'],
    ['a pair', '😀', '%F0%9F%98%80'],
  ])('%s', (_name, value, safe) => {
    expect(headerSafe(value)).toBe(safe);
  });
});

describe('names are data (issue 13.4)', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'CONSTRUCTOR', '__PROTO__', 'valueOf', '__defineGetter__'])('%s is an ordinary header name', (name) => {
    const single = JSON.parse(`{${JSON.stringify(name)}: "one", "accept": "a"}`) as Record<string, string>;
    const multi = JSON.parse(`{${JSON.stringify(name)}: ["one", "two"]}`) as Record<string, string[]>;

    const pairs = headerPairs(single, multi);

    expect(pairs).toEqual([[name.toLowerCase(), 'one'], [name.toLowerCase(), 'two'], ['accept', 'a']]);
    expect(forwardableRequestHeaders(pairs).map(([n]) => n)).toEqual(/^[a-z0-9-]+$/.test(name.toLowerCase()) ? [name.toLowerCase(), name.toLowerCase(), 'accept'] : ['accept']);
  });
});
