import { encodeQuery, identityHeaders, presentedToken } from '../../src/services/proxy-service';
import { ProxyError } from '../../src/domain/errors';
import type { AccessTokenClaims } from '../../src/services/access-tokens';
import type { HeaderPair } from '../../src/domain/header-rules';

function code(headers: HeaderPair[]): string {
  try {
    const { scheme, token } = presentedToken(headers);
    return `${scheme} ${token}`;
  } catch (error) {
    return (error as ProxyError).code;
  }
}

describe('presentedToken', () => {
  it.each([
    ['no Authorization header', [], 'AUTH_REQUIRED'],
    ['another scheme', [['authorization', 'Basic dXNlcjpwYXNz']], 'AUTH_REQUIRED'],
    ['a scheme only', [['authorization', 'Bearer']], 'TOKEN_INVALID'],
    ['a scheme and blanks', [['authorization', 'Bearer   ']], 'TOKEN_INVALID'],
    ['two Authorization headers', [['authorization', 'Bearer a.b.c'], ['authorization', 'Bearer d.e.f']], 'TOKEN_INVALID'],
    ['characters outside b64token', [['authorization', 'Bearer a.b.c"']], 'TOKEN_INVALID'],
    ['two tokens', [['authorization', 'Bearer a.b.c d.e.f']], 'TOKEN_INVALID'],
    ['a JWT', [['authorization', 'Bearer eyJ.eyJ.sig_-']], 'Bearer eyJ.eyJ.sig_-'],
    ['a lower-case scheme', [['authorization', 'bearer abc']], 'Bearer abc'],
    ['padding', [['authorization', 'Bearer abc==']], 'Bearer abc=='],
    ['the DPoP scheme (RFC 9449 §7.1)', [['authorization', 'DPoP eyJ.eyJ.sig_-']], 'DPoP eyJ.eyJ.sig_-'],
    ['the DPoP scheme in another case', [['authorization', 'dpop abc']], 'DPoP abc'],
    ['the DPoP scheme without a token', [['authorization', 'DPoP ']], 'TOKEN_INVALID'],
    ['the DPoP scheme with two tokens', [['authorization', 'DPoP a.b.c d.e.f']], 'TOKEN_INVALID'],
    ['a scheme that only starts like DPoP', [['authorization', 'DPoPx abc']], 'AUTH_REQUIRED'],
  ] as [string, HeaderPair[], string][])('%s → %s', (_name, headers, expected) => {
    expect(code(headers)).toBe(expected);
  });

  it('refuses a token longer than 16 KB', () => {
    expect(code([['authorization', `Bearer ${'a'.repeat(16_385)}`]])).toBe('TOKEN_INVALID');
  });
});

describe('encodeQuery', () => {
  it('re-encodes decoded parameters per RFC 3986 in the order given', () => {
    expect(encodeQuery([['q', 'a b+c'], ['tag', 'x&y=z'], ['tag', 'é'], ['empty', '']])).toBe('q=a%20b%2Bc&tag=x%26y%3Dz&tag=%C3%A9&empty=');
  });
});

describe('identityHeaders', () => {
  const base = { sub: 'github:repo:acme/app:ref:refs/heads/main', sid: 'sid1', scope: 'orders:read deploy', kind: 'ci' } as AccessTokenClaims;

  it('names the subject, session, scopes, kind and, for ci, the repository', () => {
    expect(identityHeaders({ ...base, gh: { repository: 'acme/app' } })).toEqual([
      ['x-tollgate-subject', 'github:repo:acme/app:ref:refs/heads/main'],
      ['x-tollgate-session', 'sid1'],
      ['x-tollgate-scopes', 'orders:read deploy'],
      ['x-tollgate-kind', 'ci'],
      ['x-tollgate-repository', 'acme/app'],
    ]);
  });

  it('has no repository header for a user', () => {
    expect(identityHeaders({ ...base, kind: 'user', sub: 'clerk:user_1' }).map(([name]) => name)).not.toContain('x-tollgate-repository');
  });
});
