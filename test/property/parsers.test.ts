import fc from 'fast-check';
import { parseClerkEvent } from '../../src/domain/clerk-event';
import { OAuthError, ProxyError } from '../../src/domain/errors';
import { forwardableRequestHeaders, headerNameKey, headerPairs, headerSafe, returnableResponseHeaders, STRIPPED_REQUEST_HEADERS, type HeaderPair } from '../../src/domain/header-rules';
import { canonicalProxyPath } from '../../src/domain/path-hygiene';
import { parseSvixHeaders, svixSignature, verifySvixDelivery } from '../../src/domain/svix-signature';
import { WebhookError } from '../../src/domain/webhook-error';
import type { HttpEvent } from '../../src/http/api-event';
import { readParameters } from '../../src/http/form';
import { canonicalJson, canonicalTokenDigest, claimProblem } from '../../src/services/subject-token-verifier';
import { encodeQuery, presentedToken } from '../../src/services/proxy-service';
import { anyString, budget, PROTOTYPE_NAMES, prototypeName, utf16Unit } from './fc-budget';

/**
 * Properties of every parser of untrusted input that runs without a server
 * (issue 13, "Tests that close the classes"): whatever the input, the answer
 * is a value or the parser's documented typed error, never another
 * exception; and nothing a client sends can make the header rules forward a
 * header Tollgate did not mean to forward. Budget and seed: `fc-budget.ts`.
 */

/** Runs `parse`, returning the value or the error; any error that is not `expected` fails the property. */
function outcome<T>(parse: () => T, expected: (error: unknown) => boolean): { value?: T; error?: unknown } {
  try {
    return { value: parse() };
  } catch (error) {
    if (!expected(error)) throw error;
    return { error };
  }
}

const isInvalidRequest = (error: unknown) =>
  error instanceof OAuthError && error.error === 'invalid_request' && (error.status === 400 || error.status === 405) && /^[\x20-\x7e]+$/.test(error.description);

function formEvent(body: Buffer | string, contentType: string | undefined, method = 'POST', base64 = true): HttpEvent {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    httpMethod: method,
    headers: contentType === undefined ? {} : { 'Content-Type': contentType },
    multiValueHeaders: {},
    body: base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: base64,
  } as unknown as HttpEvent;
}

/** `name=value` pairs percent-encoded or not, with prototype names, repeats, stray `%`, `+`, `=` and `&`. */
const formPair = fc.tuple(fc.oneof(anyString(12), prototypeName, fc.constantFrom('grant_type', 'token', 'scope')), anyString(30), fc.boolean()).map(([name, value, encode]) =>
  encode ? `${encodeURIComponent(name.replace(/[\uD800-\uDFFF]/g, 'x'))}=${encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, 'x'))}` : `${name}=${value}`,
);
const formBody = fc.oneof(
  fc.array(formPair, { maxLength: 40 }).map((pairs) => pairs.join('&')),
  fc.string({ unit: utf16Unit, maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.dictionary(fc.oneof(anyString(10), prototypeName), fc.oneof(anyString(20), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 10 }).map((value) => JSON.stringify(value)),
  fc.array(fc.tuple(prototypeName, anyString(10)), { maxLength: 5 }).map((pairs) => `{${pairs.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')}}`),
);
const contentType = fc.oneof(
  fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'Application/JSON; charset=utf-8', 'application/x-www-form-urlencoded;charset=UTF-8', 'text/plain', ''),
  fc.constant(undefined),
  anyString(30),
);

describe('property: POST parameters (form and JSON bodies)', () => {
  it('are a Map of names to non-empty strings, or invalid_request with a printable description', () => {
    fc.assert(
      fc.property(fc.oneof(formBody, jsonBody), contentType, fc.constantFrom('POST', 'post', 'GET', 'PUT'), fc.boolean(), (body, type, method, base64) => {
        const result = outcome(() => readParameters(formEvent(body, type, method, base64)), isInvalidRequest);
        if (result.value) {
          expect(result.value).toBeInstanceOf(Map);
          for (const [name, value] of result.value) {
            expect(typeof name).toBe('string');
            expect(typeof value).toBe('string');
            expect(value).not.toBe('');
            expect(value).not.toMatch(/[\r\n\0]/);
          }
        }
      }),
      budget(600),
    );
  });

  it('keeps a prototype-named parameter as an ordinary parameter', () => {
    fc.assert(
      fc.property(prototypeName, anyString(20).filter((value) => value !== '' && !/[\r\n\0\uD800-\uDFFF]/.test(value)), (name, value) => {
        const body = `grant_type=refresh_token&${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
        const parameters = readParameters(formEvent(body, 'application/x-www-form-urlencoded'));
        expect(parameters.get(name)).toBe(value);
        expect(parameters.get('grant_type')).toBe('refresh_token');
      }),
      budget(200),
    );
  });
});

/** Tollgate's own request headers on the way up, and every name it strips. */
const SET_UPSTREAM = ['x-tollgate-subject', 'x-tollgate-session', 'x-tollgate-scopes', 'x-tollgate-kind', 'x-tollgate-repository', 'x-forwarded-for', 'x-forwarded-proto', 'x-api-key'];
const PROTECTED_KEYS = new Set([...SET_UPSTREAM, ...STRIPPED_REQUEST_HEADERS].map(headerNameKey));

/** A header name a client could send: random, prototype-like, or a look-alike of a protected one. */
const headerName = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/) },
  { weight: 2, arbitrary: anyString(24).filter((name) => name !== '') },
  { weight: 1, arbitrary: prototypeName },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...SET_UPSTREAM, ...STRIPPED_REQUEST_HEADERS, 'proxy-authorization', 'x-tollgate-other'), fc.array(fc.constantFrom('-', '_', '.', '~'), { minLength: 8, maxLength: 8 }))
      .chain(([name, separators]) => fc.mixedCase(fc.constant(name.split('-').map((part, i) => (i === 0 ? part : `${separators[i % 8]}${part}`)).join('')))),
  },
);
const headerMaps = fc.tuple(fc.array(fc.tuple(headerName, anyString(30)), { maxLength: 20 }), fc.array(fc.tuple(headerName, fc.array(anyString(20), { maxLength: 3 })), { maxLength: 10 })).map(([single, multi]) => {
  // API Gateway's maps arrive JSON-parsed: own members, `__proto__` included.
  const headers = JSON.parse(JSON.stringify(Object.fromEntries(single))) as Record<string, string>;
  const multiValueHeaders = JSON.parse(`{${multi.map(([name, values]) => `${JSON.stringify(name)}:${JSON.stringify(values)}`).join(',')}}`) as Record<string, string[]>;
  return { headers, multiValueHeaders };
});

describe('property: request and response headers', () => {
  it('forward only names of letters, digits and -, never one Tollgate sets or strips under any spelling', () => {
    fc.assert(
      fc.property(headerMaps, fc.option(fc.array(headerName, { maxLength: 5 }), { nil: undefined }), ({ headers, multiValueHeaders }, allowList) => {
        const pairs = headerPairs(headers, multiValueHeaders);
        const forwarded = forwardableRequestHeaders(pairs, { credentialHeader: 'X-Api-Key', allowList });
        for (const [name, value] of forwarded) {
          expect(name).toMatch(/^[a-z0-9-]+$/);
          expect(PROTECTED_KEYS.has(headerNameKey(name))).toBe(false);
          expect(name.startsWith('x-tollgate-')).toBe(false);
          expect(name.startsWith('proxy-')).toBe(false);
          expect(pairs).toContainEqual([name, value]);
        }
      }),
      budget(800),
    );
  });

  it('turn every API Gateway header map into pairs, prototype names included, without throwing', () => {
    fc.assert(
      fc.property(headerMaps, ({ headers, multiValueHeaders }) => {
        const pairs = headerPairs(headers, multiValueHeaders);
        for (const name of Object.keys(multiValueHeaders)) {
          if ((multiValueHeaders[name] ?? []).length > 0) expect(pairs.some(([n]) => n === name.toLowerCase())).toBe(true);
        }
      }),
      budget(400),
    );
  });

  it('return upstream headers without hop-by-hop, Set-Cookie or Access-Control-*', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(headerName, fc.constantFrom('set-cookie', 'connection', 'access-control-allow-origin', 'content-length')).map((n) => n.toLowerCase()), anyString(20)), { maxLength: 20 }), (pairs: HeaderPair[]) => {
        for (const [name] of returnableResponseHeaders(pairs)) {
          expect(['set-cookie', 'content-length', 'connection', 'transfer-encoding'].includes(name)).toBe(false);
          expect(name.startsWith('access-control-')).toBe(false);
        }
      }),
      budget(300),
    );
  });

  it('make any claim value a header value that cannot split a header, and never throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: utf16Unit, maxLength: 200 }), (value) => {
        expect(headerSafe(value)).toMatch(/^[\x20-\x7e]*$/);
      }),
      budget(1000),
    );
  });
});

describe('property: proxy paths, queries and Authorization', () => {
  const rawPath = fc.oneof(
    fc.array(fc.oneof(fc.constantFrom('orders', '1', '..', '.', '%2e%2e', '%2F', '%00', '%c0%ae', '', '%', '%zz', '~', '\\', '%5c', 'a%20b'), anyString(10)), { maxLength: 8 }).map((segments) => segments.join('/')),
    fc.string({ unit: utf16Unit, maxLength: 60 }),
  );

  it('a raw path is a canonical path without dot segments, or INVALID_PATH', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const result = outcome(() => canonicalProxyPath(path), (error) => error instanceof ProxyError && error.code === 'INVALID_PATH');
        if (result.value !== undefined) {
          expect(result.value.startsWith('/')).toBe(true);
          expect(result.value.split('/')).not.toContain('..');
          expect(result.value.split('/')).not.toContain('.');
          expect(result.value).not.toMatch(/[\x00-\x1f\x7f\\]/);
        }
      }),
      budget(800),
    );
  });

  it('any query pairs re-encode to an RFC 3986 query string without throwing', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(anyString(10), prototypeName), anyString(20)), { maxLength: 10 }), (pairs) => {
        expect(encodeQuery(pairs)).toMatch(/^[A-Za-z0-9\-_.!~*'()%=&]*$/);
      }),
      budget(400),
    );
  });

  it('any Authorization headers give a token or the proxy’s AUTH_REQUIRED/TOKEN_INVALID', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyString(60), fc.tuple(fc.constantFrom('Bearer', 'bearer', 'DPoP', 'Basic', ''), anyString(40)).map(([s, t]) => `${s} ${t}`)), { maxLength: 3 }), (values) => {
        const result = outcome(
          () => presentedToken(values.map((value): HeaderPair => ['authorization', value])),
          (error) => error instanceof ProxyError && (error.code === 'AUTH_REQUIRED' || error.code === 'TOKEN_INVALID'),
        );
        if (result.value) expect(result.value.token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
      }),
      budget(500),
    );
  });
});

describe('property: webhook deliveries', () => {
  const secret = Buffer.alloc(32, 7);
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value))),
    fc
      .record({ type: fc.oneof(fc.constantFrom('session.ended', 'session.removed', 'session.revoked', 'user.deleted', 'user.updated'), anyString(20)), data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ id: fc.oneof(anyString(30), fc.jsonValue()) })) })
      .map((value) => Buffer.from(JSON.stringify(value))),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  );

  it('a signed body is a Clerk event or malformed_body (400)', () => {
    fc.assert(
      fc.property(body, (bytes) => {
        outcome(() => parseClerkEvent(bytes), (error) => error instanceof WebhookError && error.code === 'malformed_body' && error.status === 400);
      }),
      budget(600),
    );
  });

  it('any svix headers are verified or refused with a 400/401 WebhookError', () => {
    fc.assert(
      fc.property(anyString(30), fc.oneof(anyString(15), fc.integer().map(String)), fc.oneof(anyString(80), fc.constant('v1,')), fc.boolean(), body, (id, timestamp, signature, signItRight, bytes) => {
        const now = 1_800_000_000;
        const signed = signItRight && /^\d+$/.test(timestamp) ? `v1,${svixSignature(secret, id, timestamp, bytes).toString('base64')}` : signature;
        const delivery = { id, timestamp, signature: signed, body: bytes };
        outcome(() => parseSvixHeaders(delivery), (error) => error instanceof WebhookError && (error.status === 400 || error.status === 401));
        outcome(() => verifySvixDelivery(delivery, [secret], now), (error) => error instanceof WebhookError && (error.status === 400 || error.status === 401));
      }),
      budget(500),
    );
  });
});

describe('property: verified JWT headers and claims', () => {
  const claims = fc.dictionary(fc.oneof(anyString(12), prototypeName, fc.constantFrom('sub', 'jti', 'sid', 'exp', 'aud')), fc.oneof(fc.jsonValue({ maxDepth: 5 }), anyString(50), fc.string({ unit: utf16Unit, minLength: 1000, maxLength: 1200 })), { maxKeys: 12 });

  it('claimProblem and the single-use digest take any JSON, prototype names and lone surrogates included, without throwing', () => {
    fc.assert(
      fc.property(claims, claims, fc.oneof(fc.integer(), fc.double()), (header, payload, now) => {
        const parsed = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
        const problem = claimProblem(JSON.parse(JSON.stringify(header)), parsed, now);
        expect(problem === undefined || typeof problem === 'string').toBe(true);
        expect(canonicalTokenDigest(header, parsed)).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
      }),
      budget(500),
    );
  });

  it('canonical JSON does not depend on member order', () => {
    fc.assert(
      fc.property(fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(JSON.parse(JSON.stringify(reversed)))).toBe(canonicalJson(JSON.parse(JSON.stringify(value))));
      }),
      budget(300),
    );
  });

  it('knows its prototype names', () => {
    expect(PROTOTYPE_NAMES).toContain('__proto__');
  });
});
