import type { TrustRule } from '../../src/config/config';
import { claimMatches, grantedScopes, readClaim } from '../../src/domain/trust';

describe('readClaim', () => {
  it.each([
    ['o.rol', { o: { rol: 'admin' } }, 'admin'],
    ['metadata.role', { metadata: { role: 'api-client' } }, 'api-client'],
    ['a.b', { a: 'not an object' }, undefined],
    ['missing', {}, undefined],
    ['toString', {}, undefined],
  ])('reads %s', (path, claims, expected) => {
    expect(readClaim(claims, path)).toBe(expected);
  });
});

describe('claimMatches', () => {
  it.each([
    ['exact', 'acme/app', 'acme/app', true],
    ['exact mismatch', 'acme/app', 'acme/app2', false],
    ['star within a segment', 'acme/*', 'acme/app', true],
    ['star does not cross /', 'acme/*', 'acme/app/x', false],
    ['double star crosses /', 'acme/**', 'acme/app/x', true],
    ['regex characters are literal', 'a.c', 'abc', false],
    ['number compares by string form', 74, '74', true],
    ['string pattern against a number claim', '74', 74, true],
    ['boolean', true, 'true', true],
    ['list matches any element', ['main', 'release'], 'release', true],
    ['missing claim never matches', '**', undefined, false],
    ['object claim never matches', '**', { a: 1 }, false],
    ['array claim matches any element', 'b', ['a', 'b'], true],
  ] as const)('%s', (_name, pattern, value, expected) => {
    expect(claimMatches(value, pattern as never)).toBe(expected);
  });
});

describe('grantedScopes', () => {
  const rules: TrustRule[] = [
    { claims: { repository_owner_id: '65' }, scopes: ['orders:read'] },
    { claims: { repository_id: '74', ref: 'refs/heads/main' }, scopes: ['orders:read', 'deploy'] },
  ];

  it('unions the scopes of every matching rule', () => {
    expect(grantedScopes(rules, { repository_owner_id: '65', repository_id: '74', ref: 'refs/heads/main' })).toEqual([
      'orders:read',
      'deploy',
    ]);
  });

  it('needs every claim of a rule to match', () => {
    expect(grantedScopes(rules, { repository_owner_id: '65', repository_id: '74', ref: 'refs/heads/dev' })).toEqual(['orders:read']);
  });

  it('returns null when no rule matches', () => {
    expect(grantedScopes(rules, { repository_owner_id: '66' })).toBeNull();
  });
});
