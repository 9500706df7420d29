import { AccessTokenError, OAuthError, RateLimitedError, UnavailableError } from '../../src/domain/errors';
import { describeCause, errorResponse, type ErrorLogger } from '../../src/http/errors';

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
