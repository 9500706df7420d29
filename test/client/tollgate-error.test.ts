import { errorCodeOf, isTollgateError, TollgateError } from '../../src/client/tollgate-error';

describe('errorCodeOf', () => {
  it.each([
    ['a proxy code', { error: 'invalid_token', error_description: 'x', code: 'TOKEN_EXPIRED' }, 'TOKEN_EXPIRED'],
    ['the code of a 429 at /token', { error: 'rate_limited', code: 'RATE_LIMITED' }, 'RATE_LIMITED'],
    ['an RFC 6749 error', { error: 'invalid_grant', error_description: 'x' }, 'invalid_grant'],
    ['a 503', { error: 'temporarily_unavailable' }, 'temporarily_unavailable'],
    ['an unknown code, known error', { error: 'invalid_request', code: 'SOMETHING_NEW' }, 'invalid_request'],
    ['unknown everything', { error: 'teapot' }, undefined],
    ['a non-string code', { code: 42 }, undefined],
    ['an array', ['invalid_grant'], undefined],
    ['null', null, undefined],
    ['a string', 'invalid_grant', undefined],
  ])('%s', (_name, body, expected) => {
    expect(errorCodeOf(body)).toBe(expected);
  });
});

describe('isTollgateError', () => {
  const error = new TollgateError('SESSION_ENDED', { endpoint: 'proxy', status: 401 });

  it('matches any code, or the listed ones', () => {
    expect(isTollgateError(error)).toBe(true);
    expect(isTollgateError(error, 'TOKEN_EXPIRED', 'SESSION_ENDED')).toBe(true);
    expect(isTollgateError(error, 'TOKEN_EXPIRED')).toBe(false);
  });

  it('recognises an error from another copy of the client by its name', () => {
    const foreign = Object.assign(new Error('x'), { name: 'TollgateError', code: 'invalid_grant' });
    expect(isTollgateError(foreign, 'invalid_grant')).toBe(true);
  });

  it('rejects other errors', () => {
    expect(isTollgateError(new TypeError('x'))).toBe(false);
    expect(isTollgateError(undefined)).toBe(false);
  });
});
