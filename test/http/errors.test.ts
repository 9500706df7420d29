import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { AccessTokenError, OAuthError, ProxyError, RateLimitedError, UnavailableError } from '../../src/domain/errors';
import { WebhookError } from '../../src/domain/webhook-error';
import { describeCause, errorResponse, mapError, type ErrorLogger, type Refusal } from '../../src/http/errors';
import { httpHandler } from '../../src/http/middleware';
import type { HttpEvent } from '../../src/http/api-event';
import { DPOP_ALGORITHMS } from '../../src/domain/dpop-proof';

/** RFC 9449 §7.1: the algorithms a DPoP challenge names. */
const DPOP_ALGS_HEADER = `algs="${DPOP_ALGORITHMS.join(' ')}"`;

/** A logger that keeps what it was told, so tests can check what leaves the process. */
function recordingLogger(): ErrorLogger & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  return {
    lines,
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
}

const NO_STORE = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' };

describe('errorResponse', () => {
  it.each([
    [
      'invalid_request',
      new OAuthError('invalid_request', 'missing grant_type', { detail: 'x' }),
      400,
      { error: 'invalid_request', error_description: 'missing grant_type' },
      NO_STORE,
    ],
    [
      'invalid_grant',
      new OAuthError('invalid_grant', 'subject token is expired', { reason: 'expired', detail: 'ERR_JWT_EXPIRED' }),
      400,
      { error: 'invalid_grant', error_description: 'subject token is expired' },
      NO_STORE,
    ],
    [
      'invalid_scope',
      new OAuthError('invalid_scope', 'the requested scope exceeds what was granted'),
      400,
      { error: 'invalid_scope', error_description: 'the requested scope exceeds what was granted' },
      NO_STORE,
    ],
    [
      'unsupported_grant_type',
      new OAuthError('unsupported_grant_type', 'grant_type is not supported'),
      400,
      { error: 'unsupported_grant_type', error_description: 'grant_type is not supported' },
      NO_STORE,
    ],
    [
      'invalid_target',
      new OAuthError('invalid_target', 'the requested audience is not served by this token service'),
      400,
      { error: 'invalid_target', error_description: 'the requested audience is not served by this token service' },
      NO_STORE,
    ],
    [
      'an OAuth error with its own status and headers (405)',
      new OAuthError('invalid_request', 'use POST', { status: 405, headers: { Allow: 'POST' } }),
      405,
      { error: 'invalid_request', error_description: 'use POST' },
      { ...NO_STORE, Allow: 'POST' },
    ],
    [
      'an OAuth error with Retry-After',
      new OAuthError('invalid_request', 'slow down', { status: 429, retryAfterSeconds: 7 }),
      429,
      { error: 'invalid_request', error_description: 'slow down' },
      { ...NO_STORE, 'Retry-After': '7' },
    ],
    [
      'a rate limit (429 with Retry-After)',
      new RateLimitedError(30),
      429,
      { error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' },
      { ...NO_STORE, 'Retry-After': '30' },
    ],
    [
      'an unavailable store (503 temporarily_unavailable)',
      new UnavailableError('store', new Error('connect ECONNREFUSED 127.0.0.1:8000')),
      503,
      { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' },
      { ...NO_STORE, 'Retry-After': '1' },
    ],
    [
      'unavailable signing keys with a longer Retry-After',
      new UnavailableError('signing_keys', new Error('bad document'), 5),
      503,
      { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' },
      { ...NO_STORE, 'Retry-After': '5' },
    ],
    [
      'an unmapped access token error (401, never 500)',
      new AccessTokenError('TOKEN_EXPIRED', 'exp passed'),
      401,
      { error: 'invalid_token', error_description: 'the access token is not valid', code: 'TOKEN_EXPIRED' },
      NO_STORE,
    ],
    [
      'a programmer error (bare 500)',
      new TypeError("Cannot read properties of undefined (reading 'sid')"),
      500,
      { error: 'server_error', error_description: 'internal error' },
      NO_STORE,
    ],
    ['a thrown string (bare 500)', 'boom', 500, { error: 'server_error', error_description: 'internal error' }, NO_STORE],
  ])('maps %s', (_name, error, status, body, headers) => {
    const result = errorResponse(error, recordingLogger());

    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual(body);
    expect(result.headers).toEqual(headers);
  });

  it('logs the private detail of an OAuth error and never returns it', () => {
    const logger = recordingLogger();

    const result = errorResponse(new OAuthError('invalid_grant', 'subject token is not valid', { reason: 'signature', detail: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }), logger);

    expect(result.body).not.toContain('ERR_JWS');
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'request rejected', fields: { error: 'invalid_grant', reason: 'signature', detail: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' } },
    ]);
  });

  it('says nothing about a programmer error in the body, and logs it as an error', () => {
    const logger = recordingLogger();

    const result = errorResponse(new Error('secret table name tollgate-prod-sessions'), logger);

    expect(result.body).not.toContain('tollgate-prod');
    expect(logger.lines[0]).toMatchObject({ level: 'error', message: 'unhandled error', fields: { error: 'Error: secret table name tollgate-prod-sessions' } });
  });

  it('logs which dependency is unavailable and its cause', () => {
    const logger = recordingLogger();

    errorResponse(new UnavailableError('store', new Error('timeout')), logger);

    expect(logger.lines).toEqual([{ level: 'error', message: 'dependency unavailable', fields: { dependency: 'store', cause: 'Error: timeout' } }]);
  });
});

describe('mapError for the proxy family', () => {
  const DPOP_ALGS = DPOP_ALGS_HEADER;

  it.each([
    [
      'an access-token failure met on the proxy path (RFC 6750 challenge)',
      new AccessTokenError('TOKEN_EXPIRED', 'exp passed'),
      'Bearer' as const,
      401,
      { error: 'invalid_token', error_description: 'the access token has expired', code: 'TOKEN_EXPIRED' },
      { ...NO_STORE, 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      'exp passed',
    ],
    [
      'the same failure for a token presented with DPoP (RFC 9449 §7.1 challenge)',
      new AccessTokenError('SESSION_ENDED', 'revoked'),
      'DPoP' as const,
      401,
      { error: 'invalid_token', error_description: 'the session has ended', code: 'SESSION_ENDED' },
      { ...NO_STORE, 'WWW-Authenticate': `DPoP error="invalid_token", ${DPOP_ALGS}` },
      'revoked',
    ],
    [
      'a missing scope',
      new ProxyError('INSUFFICIENT_SCOPE', { requiredScopes: ['orders:write'], detail: 'needs orders:write' }),
      undefined,
      403,
      { error: 'insufficient_scope', error_description: 'the access token lacks a scope this route requires', code: 'INSUFFICIENT_SCOPE' },
      { ...NO_STORE, 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="orders:write"' },
      'needs orders:write',
    ],
    [
      'a rate limit met on the proxy path',
      new RateLimitedError(28),
      undefined,
      429,
      { error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' },
      { ...NO_STORE, 'Retry-After': '28' },
      undefined,
    ],
    [
      'an unavailable store',
      new UnavailableError('store', new Error('timeout'), 2),
      undefined,
      503,
      { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later', code: 'STORE_UNAVAILABLE' },
      { ...NO_STORE, 'Retry-After': '2' },
      'Error: timeout',
    ],
  ])('maps %s', (_name, error, scheme, status, body, headers, detail) => {
    const logger = recordingLogger();

    const refusal = mapError(error, logger, { family: 'proxy', scheme });

    expect(refusal.result.statusCode).toBe(status);
    expect(JSON.parse(refusal.result.body)).toEqual(body);
    expect(refusal.result.headers).toEqual(headers);
    expect(refusal.code).toBe(body.code);
    expect(refusal.detail).toBe(detail);
    // Expected refusals are logged once, on the proxy's request line, not here.
    expect(logger.lines).toEqual([]);
  });

  it('answers a programmer error as a bare 500 with INTERNAL_ERROR, logged once as an error', () => {
    const logger = recordingLogger();

    const refusal = mapError(new TypeError('x is undefined'), logger, { family: 'proxy' });

    expect(refusal.result.statusCode).toBe(500);
    expect(JSON.parse(refusal.result.body)).toEqual({ error: 'server_error', error_description: 'internal error', code: 'INTERNAL_ERROR' });
    expect(refusal.code).toBe('INTERNAL_ERROR');
    expect(logger.lines.map((line) => line.message)).toEqual(['unhandled error']);
  });
});

describe('mapError for webhook refusals', () => {
  it.each([
    ['a bad signature', new WebhookError('bad_signature', 'no v1 matched'), 401, { error: 'invalid_signature', error_description: 'webhook signature verification failed' }],
    ['a stale delivery', new WebhookError('stale', 'ts 400 s away'), 401, { error: 'invalid_signature', error_description: 'webhook signature verification failed' }],
    ['a malformed body', new WebhookError('malformed_body', 'not JSON'), 400, { error: 'invalid_request', error_description: 'malformed webhook delivery' }],
  ])('maps %s', (_name, error, status, body) => {
    const logger = recordingLogger();

    const result = errorResponse(error, logger);

    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual(body);
    expect(logger.lines).toEqual([{ level: 'warn', message: 'clerk webhook refused', fields: { reason: error.code, detail: error.detail } }]);
  });
});

describe('the error boundary in the shared middy chain', () => {
  const context = { functionName: 'f', awsRequestId: 'lambda-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  const observability = () => ({
    logger: new Logger({ serviceName: 'boundary-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'boundary-test' }),
  });

  it('maps a refused request once, with the scheme the handler learnt, and hands the refusal to the route once', async () => {
    const seen: Refusal[] = [];
    const schemes = new WeakMap<HttpEvent, 'DPoP'>();
    const handler = httpHandler(
      observability(),
      async (event) => {
        schemes.set(event, 'DPoP');
        throw new AccessTokenError('TOKEN_INVALID', 'bad signature');
      },
      {
        family: 'proxy',
        scheme: (event) => schemes.get(event),
        refused: (_event, refusal) => {
          seen.push(refusal);
          return { ...refusal.result, headers: { ...refusal.result.headers, Vary: 'Origin' } };
        },
      },
    );

    const result = await handler({ headers: {} } as unknown as HttpEvent, context);

    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'TOKEN_INVALID', detail: 'bad signature' });
    expect(result.statusCode).toBe(401);
    expect(result.headers).toMatchObject({ 'WWW-Authenticate': `DPoP error="invalid_token", ${DPOP_ALGS_HEADER}`, Vary: 'Origin' });
  });

  it('answers the OAuth family by default', async () => {
    const handler = httpHandler(observability(), async () => {
      throw new OAuthError('invalid_grant', 'refresh token was already used', { reason: 'refresh_reused' });
    });

    const result = await handler({ headers: {} } as unknown as HttpEvent, context);

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'invalid_grant', error_description: 'refresh token was already used' });
  });
});

describe('describeCause', () => {
  it.each([
    ['an error', new Error('boom'), 'Error: boom'],
    ['an error with a cause', new Error('outer', { cause: new RangeError('inner') }), 'Error: outer (RangeError: inner)'],
    ['a string', 'plain', 'plain'],
    ['undefined', undefined, 'undefined'],
  ])('%s', (_name, cause, expected) => {
    expect(describeCause(cause)).toBe(expected);
  });

  it('bounds its length', () => {
    expect(describeCause(new Error('x'.repeat(2_000))).length).toBeLessThanOrEqual(500);
    expect(describeCause('y'.repeat(2_000)).length).toBeLessThanOrEqual(200);
  });
});
