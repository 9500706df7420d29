import { checkTokenSet, normalizeBaseUrl } from '../../src/client/token-endpoint';

describe('normalizeBaseUrl', () => {
  it.each([
    ['https', 'https://tollgate.example.com', 'https://tollgate.example.com'],
    ['a trailing slash', 'https://tollgate.example.com/', 'https://tollgate.example.com'],
    ['a stage path', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod'],
    ['loopback http', 'http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['localhost http', 'http://localhost:8787/', 'http://localhost:8787'],
  ])('accepts %s', (_name, input, expected) => {
    expect(normalizeBaseUrl(input)).toBe(expected);
  });

  it.each([
    ['plain http to a remote host', 'http://tollgate.example.com'],
    ['credentials', 'https://user:pass@tollgate.example.com'],
    ['a query', 'https://tollgate.example.com/?x=1'],
    ['a fragment', 'https://tollgate.example.com/#x'],
    ['another scheme', 'ftp://tollgate.example.com'],
    ['not a URL', 'tollgate.example.com'],
  ])('refuses %s', (_name, input) => {
    expect(() => normalizeBaseUrl(input)).toThrow(TypeError);
  });
});

describe('checkTokenSet (RFC 6749 §5.1)', () => {
  const good = { access_token: 'a.b.c', token_type: 'Bearer', expires_in: 900, refresh_token: 'tgr_x', scope: 'a b' };

  it.each([
    ['a full answer', good],
    ['a lower-case token type', { ...good, token_type: 'bearer' }],
    ['no refresh token', { ...good, refresh_token: undefined }],
  ])('accepts %s', (_name, body) => {
    expect(checkTokenSet(body)).toBe(body);
  });

  it.each([
    ['no access token', { ...good, access_token: undefined }],
    ['an empty access token', { ...good, access_token: '' }],
    ['another token type', { ...good, token_type: 'DPoP' }],
    ['expires_in as a string', { ...good, expires_in: '900' }],
    ['expires_in zero', { ...good, expires_in: 0 }],
    ['a numeric refresh token', { ...good, refresh_token: 7 }],
    ['nothing', undefined],
  ])('refuses %s as UNEXPECTED_RESPONSE', (_name, body) => {
    expect(() => checkTokenSet(body)).toThrow(expect.objectContaining({ code: 'UNEXPECTED_RESPONSE' }));
  });
});
