import type { TrustRule } from '../../src/config/config';
import { claimMatches, grantedScopes, readClaim } from '../../src/domain/trust';

describe('readClaim', () => {
  it.each([
    ['o.rol', { o: { rol: 'admin' } }, 'admin'],
    ['metadata.role', { metadata: { role: 'api-client' } }, 'api-client'],
    ['a.b', { a: 'not an object' }, undefined],
    ['missing', {}, undefined],
    ['toString', {}, undefined],
    ['__proto__', {}, undefined],
    ['o.constructor', { o: {} }, undefined],
    ['a.0', { a: ['x'] }, undefined],
    ['a.b.c', { a: { b: { c: 3 } } }, 3],
    ['a.b', { a: null }, undefined],
    ['o.rol', { 'o.rol': 'flat key is not a path' }, undefined],
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
    ['array claim with no matching element', 'c', ['a', 'b'], false],
    ['nested arrays are not flattened', 'b', [['b']], false],
    ['empty array claim never matches', '**', [], false],
    ['null claim never matches', '**', null, false],
    ['false compares as "false"', 'false', false, true],
    ['boolean pattern against a string claim', false, 'false', true],
    ['number pattern does not match a prefix', 7, '74', false],
    ['empty string claim matches only patterns that match empty', '*', '', true],
    ['empty string claim against a literal', 'main', '', false],
    ['list with a glob', ['refs/heads/release-*', 'refs/tags/**'], 'refs/tags/v1/rc', true],
    ['list where nothing matches', ['refs/heads/main', 'refs/heads/dev'], 'refs/heads/feature', false],
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

describe('grantedScopes on realistic claims', () => {
  const github = {
    repository: 'acme/app',
    repository_id: '74',
    repository_owner_id: '65',
    ref: 'refs/heads/main',
    environment: 'prod',
    job_workflow_ref: 'acme/platform/.github/workflows/deploy.yml@refs/heads/main',
    sub: 'repo:acme@65/app@74:environment:prod',
  };
  const clerk = { sub: 'user_123', metadata: { role: 'api-client' }, o: { id: 'org_1', rol: 'org:admin' } };

  it.each([
    ['repository id and ref', [{ claims: { repository_id: '74', ref: 'refs/heads/main' }, scopes: ['deploy'] }], github, ['deploy']],
    ['owner id with an environment list', [{ claims: { repository_owner_id: '65', environment: ['prod', 'staging'] }, scopes: ['deploy'] }], github, ['deploy']],
    ['reusable workflow by glob', [{ claims: { job_workflow_ref: 'acme/platform/.github/workflows/*.yml@refs/heads/main' }, scopes: ['deploy'] }], github, ['deploy']],
    ['a rule on sub in the old format no longer matches', [{ claims: { sub: 'repo:acme/app:*' }, scopes: ['deploy'] }], github, null],
    ['a claim the token lacks', [{ claims: { repository_id: '74', workflow: 'deploy' }, scopes: ['deploy'] }], github, null],
    ['Clerk metadata.role', [{ claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read'] }], clerk, ['orders:read']],
    ['Clerk o.rol', [{ claims: { 'o.rol': ['admin', 'org:admin'] }, scopes: ['orders:admin'] }], clerk, ['orders:admin']],
    ['Clerk sub glob', [{ claims: { sub: 'user_*' }, scopes: ['profile:read'] }], clerk, ['profile:read']],
    ['union without duplicates, first-seen order', [
      { claims: { sub: 'user_*' }, scopes: ['b', 'a'] },
      { claims: { 'metadata.role': 'api-client' }, scopes: ['a', 'c'] },
      { claims: { 'metadata.role': 'admin' }, scopes: ['z'] },
    ], clerk, ['b', 'a', 'c']],
  ] as [string, TrustRule[], Record<string, unknown>, string[] | null][])('%s', (_name, rules, claims, expected) => {
    expect(grantedScopes(rules, claims)).toEqual(expected);
  });
});
