import { ConfigError, formatPath, isSafeUrl, loadConfig, parseConfig, type TollgateConfigInput } from '../../src/config/config';

const RULE = { claims: { repository_id: '74' }, scopes: ['deploy'] };
const CI = { name: 'github', issuer: 'https://token.actions.githubusercontent.com', kind: 'ci', audiences: ['tollgate'], rules: [RULE] };
const USER = { name: 'clerk', issuer: 'https://clerk.example.com', kind: 'user', authorizedParties: ['https://app.example.com'], rules: [RULE] };

/** The problems `loadConfig` reports for a document (empty when it is valid). */
function problems(document: unknown): readonly string[] {
  try {
    loadConfig(document);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ trust: [CI, USER] });

    expect(config.issuer).toBeUndefined();
    expect(config.audience).toBe('tollgate');
    expect(config.accessTokenTtlSeconds).toBe(900);
    expect(config.signing).toEqual({ alg: 'RS256' });
    expect(config.sessions).toEqual({
      user: { maxLifetimeSeconds: 86_400, idleTimeoutSeconds: 7_200, maxRefreshes: 200, refreshReuseGraceSeconds: 10 },
      ci: { maxLifetimeSeconds: 3_600, idleTimeoutSeconds: 1_800, maxRefreshes: 8, refreshReuseGraceSeconds: 10 },
    });
    expect(config.trust[0]).toMatchObject({ algorithms: ['RS256', 'ES256'], singleUse: true, clockToleranceSeconds: 30 });
    expect(config.trust[1]).toMatchObject({ algorithms: ['RS256', 'ES256'], singleUse: false });
    expect(config.proxy).toBeUndefined();
  });

  it('fills the defaults of a partly given session policy', () => {
    const config = loadConfig({ trust: [CI], sessions: { ci: { maxRefreshes: 2 } } });

    expect(config.sessions.ci).toEqual({ maxLifetimeSeconds: 3_600, idleTimeoutSeconds: 1_800, maxRefreshes: 2, refreshReuseGraceSeconds: 10 });
    expect(config.sessions.user.maxRefreshes).toBe(200);
  });

  it('keeps an explicit singleUse over the kind default', () => {
    const config = loadConfig({ trust: [{ ...CI, singleUse: false }, { ...USER, singleUse: true }] });

    expect(config.trust.map((trust) => trust.singleUse)).toEqual([false, true]);
  });

  it('returns deeply frozen values', () => {
    const config = loadConfig({ trust: [CI] });

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.trust[0]!.rules[0]!.scopes)).toBe(true);
    expect(Object.isFrozen(config.sessions.ci)).toBe(true);
  });

  it('reports every problem at once, each by its path', () => {
    const document = {
      audience: '',
      trust: [
        { ...CI, rules: [RULE, { claims: { ref: 'refs/heads/main' }, scopes: [] }] },
        { ...USER, issuer: 'http://clerk.example.com' },
      ],
      sessions: { user: { maxLifetimeSeconds: 10 } },
    };

    expect([...problems(document)].sort()).toEqual(
      [
        'audience: Too small: expected string to have >=1 characters',
        'sessions.user.maxLifetimeSeconds: Too small: expected number to be >=60',
        'trust[0].rules[1].scopes: expected a non-empty list',
        'trust[1].issuer: expected an https:// URL (http:// only for loopback hosts), without credentials or fragment',
      ].sort(),
    );
  });

  it('still reports cross-field problems when a field of the same issuer is invalid', () => {
    const { audiences: _omitted, ...ciWithoutAudiences } = CI;

    expect([...problems({ trust: [{ ...ciWithoutAudiences, algorithms: ['none'] }] })].sort()).toEqual([
      'trust[0].algorithms[0]: Invalid option: expected one of "RS256"|"RS384"|"RS512"|"PS256"|"PS384"|"PS512"|"ES256"|"ES384"|"ES512"|"EdDSA"',
      'trust[0].audiences: required for ci issuers',
    ]);
  });

  it('still reports duplicate trust names when another issuer is invalid', () => {
    expect(problems({ trust: [{ ...CI, algorithms: ['HS256'] }, { ...CI }] })).toEqual(
      expect.arrayContaining(['trust[1].name: duplicates trust[0].name']),
    );
  });

  it.each([
    ['top level', { trust: [CI], bogus: 1 }, 'bogus: unknown key'],
    ['signing', { trust: [CI], signing: { alg: 'RS256', kid: 'x' } }, 'signing.kid: unknown key'],
    ['sessions', { trust: [CI], sessions: { admin: {} } }, 'sessions.admin: unknown key'],
    ['session policy', { trust: [CI], sessions: { ci: { ttl: 5 } } }, 'sessions.ci.ttl: unknown key'],
    ['trusted issuer', { trust: [CI, { ...USER, jwks: 'https://x' }] }, 'trust[1].jwks: unknown key'],
    ['rule', { trust: [{ ...CI, rules: [RULE, { ...RULE, scope: 'x' }] }] }, 'trust[0].rules[1].scope: unknown key'],
    ['proxy', { trust: [CI], proxy: { upstreamUrl: 'https://api.example.com', upstream: 'x' } }, 'proxy.upstream: unknown key'],
    ['proxy route', { trust: [CI], proxy: { upstreamUrl: 'https://api.example.com', routes: [{ methods: ['GET'], path: '/a', role: 'x' }] } }, 'proxy.routes[0].role: unknown key'],
  ])('rejects an unknown key in %s', (_where, document, expected) => {
    expect(problems(document)).toEqual([expected]);
  });

  it('names every unknown key of one object', () => {
    expect([...problems({ trust: [CI], a: 1, b: 2 })].sort()).toEqual(['a: unknown key', 'b: unknown key']);
  });

  it.each([
    ['https', 'https://issuer.example.com', true],
    ['http on localhost', 'http://localhost:8787/dev/github', true],
    ['http on 127.0.0.1', 'http://127.0.0.1:9000/clerk', true],
    ['http on another 127/8 address', 'http://127.1.2.3/x', true],
    ['http on [::1]', 'http://[::1]:8080/x', true],
    ['http elsewhere', 'http://issuer.example.com', false],
    ['http on a host named like loopback', 'http://127.0.0.1.evil.example/x', false],
    ['http on localhost as a subdomain', 'http://localhost.evil.example/x', false],
    ['http on 0.0.0.0', 'http://0.0.0.0/x', false],
    ['credentials', 'https://user:pass@issuer.example.com', false],
    ['fragment', 'https://issuer.example.com/#x', false],
    ['another scheme', 'ftp://issuer.example.com', false],
    ['not a URL', 'issuer.example.com', false],
  ])('isSafeUrl: %s', (_name, url, expected) => {
    expect(isSafeUrl(url)).toBe(expected);
  });

  it.each([
    ['issuer', { trust: [CI], issuer: 'http://tollgate.example.com' }, 'issuer'],
    ['trusted issuer', { trust: [{ ...CI, issuer: 'http://token.actions.githubusercontent.com' }] }, 'trust[0].issuer'],
    ['jwksUri', { trust: [{ ...CI, jwksUri: 'http://keys.example.com/jwks' }] }, 'trust[0].jwksUri'],
  ])('accepts http:// only for loopback hosts (%s)', (_name, document, path) => {
    expect(problems(document)).toEqual([
      `${path}: expected an https:// URL (http:// only for loopback hosts), without credentials or fragment`,
    ]);
  });

  it('accepts loopback http:// issuers and JWKS URLs', () => {
    expect(problems({ trust: [{ ...CI, issuer: 'http://127.0.0.1:9000/github', jwksUri: 'http://localhost:9000/jwks' }] })).toEqual([]);
  });

  it('requires audiences for ci issuers', () => {
    const { audiences: _omitted, ...ci } = CI;

    expect(problems({ trust: [ci] })).toEqual(['trust[0].audiences: required for ci issuers']);
  });

  it('requires authorizedParties for a user issuer without audiences', () => {
    const { authorizedParties: _omitted, ...user } = USER;

    expect(problems({ trust: [user] })).toEqual([
      'trust[0].authorizedParties: a user issuer without audiences must list authorizedParties (Clerk session tokens carry no aud)',
    ]);
  });

  it('accepts a user issuer with audiences and no authorizedParties', () => {
    const { authorizedParties: _omitted, ...user } = USER;

    expect(problems({ trust: [{ ...user, audiences: ['tollgate'] }] })).toEqual([]);
  });

  it.each(['none', 'HS256', 'HS384', 'HS512', 'dir', 'RSA-OAEP'])('never accepts the algorithm %s', (alg) => {
    expect(problems({ trust: [{ ...CI, algorithms: ['RS256', alg] }] })).toEqual([
      'trust[0].algorithms[1]: Invalid option: expected one of "RS256"|"RS384"|"RS512"|"PS256"|"PS384"|"PS512"|"ES256"|"ES384"|"ES512"|"EdDSA"',
    ]);
  });

  it('rejects an empty algorithm list', () => {
    expect(problems({ trust: [{ ...CI, algorithms: [] }] })).toEqual(['trust[0].algorithms: Too small: expected array to have >=1 items']);
  });

  it.each(['HS256', 'none', 'RS384'])('rejects signing.alg %s', (alg) => {
    expect(problems({ trust: [CI], signing: { alg } })).toEqual(['signing.alg: Invalid option: expected one of "RS256"|"ES256"|"EdDSA"']);
  });

  it('rejects duplicate trust names, naming the first', () => {
    expect(problems({ trust: [CI, USER, { ...USER, issuer: 'https://other.example.com' }] })).toEqual(['trust[2].name: duplicates trust[1].name']);
  });

  it('rejects a leeway beyond 60 s', () => {
    expect(problems({ trust: [{ ...CI, clockToleranceSeconds: 61 }] })).toEqual([
      'trust[0].clockToleranceSeconds: Too big: expected number to be <=60',
    ]);
  });

  it.each([
    ['no trusted issuer', { trust: [] }, 'trust: expected at least one trusted issuer'],
    ['no trust key', {}, 'trust: Invalid input: expected array, received undefined'],
    ['no rule', { trust: [{ ...CI, rules: [] }] }, 'trust[0].rules: expected at least one rule'],
    ['a rule without claims', { trust: [{ ...CI, rules: [{ claims: {}, scopes: ['a'] }] }] }, 'trust[0].rules[0].claims: a rule must match on at least one claim'],
    ['an empty pattern list', { trust: [{ ...CI, rules: [{ claims: { ref: [] }, scopes: ['a'] }] }] }, 'trust[0].rules[0].claims.ref: expected at least one pattern'],
    ['a scope with a space', { trust: [{ ...CI, rules: [{ ...RULE, scopes: ['a b'] }] }] }, 'trust[0].rules[0].scopes[0]: expected an RFC 6749 scope token (printable ASCII, no space, quote or backslash)'],
    ['a scope with a quote', { trust: [{ ...CI, rules: [{ ...RULE, scopes: ['a"b'] }] }] }, 'trust[0].rules[0].scopes[0]: expected an RFC 6749 scope token (printable ASCII, no space, quote or backslash)'],
    ['a trust name with a colon', { trust: [{ ...CI, name: 'git:hub' }] }, 'trust[0].name: expected lower-case letters, digits, - or _ (at most 63)'],
    ['an unknown kind', { trust: [{ ...CI, kind: 'service' }] }, 'trust[0].kind: Invalid option: expected one of "user"|"ci"'],
    ['an empty audience', { trust: [{ ...CI, audiences: [] }] }, 'trust[0].audiences: expected a non-empty list'],
    ['a fractional TTL', { trust: [CI], accessTokenTtlSeconds: 90.5 }, 'accessTokenTtlSeconds: Invalid input: expected int, received number'],
    ['a TTL over a day', { trust: [CI], accessTokenTtlSeconds: 86_401 }, 'accessTokenTtlSeconds: Too big: expected number to be <=86400'],
  ])('rejects %s', (_name, document, expected) => {
    expect(problems(document)).toEqual([expected]);
  });

  it('accepts claim dot paths, lists, numbers and booleans as patterns', () => {
    const rules = [{ claims: { 'o.rol': ['admin', 'org:admin'], 'metadata.level': 3, verified: true }, scopes: ['a'] }];

    expect(problems({ trust: [{ ...USER, rules }] })).toEqual([]);
  });

  it('reports malformed trust entries without tripping over them', () => {
    expect(problems({ trust: [null, 'github', CI] })).toEqual([
      'trust[0]: Invalid input: expected object, received null',
      'trust[1]: Invalid input: expected object, received string',
    ]);
    expect(problems({ trust: 'github' })).toEqual(['trust: Invalid input: expected array, received string']);
  });

  it('rejects a document that is not an object', () => {
    expect(problems('trust')).toEqual(['(root): Invalid input: expected object, received string']);
  });
});

describe('parseConfig', () => {
  it('reports a JSON syntax error like any other problem', () => {
    expect(() => parseConfig('{ "trust": [', 'tollgate.json')).toThrow(ConfigError);
    try {
      parseConfig('{ "trust": [', 'tollgate.json');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^tollgate\.json: not valid JSON \(/)]);
    }
  });

  it('lists the problems in the error message, one per line', () => {
    const input: TollgateConfigInput = { trust: [{ ...(CI as TollgateConfigInput['trust'][number]), audiences: [] }] };

    expect(() => parseConfig(JSON.stringify(input))).toThrow('invalid Tollgate config:\n  trust[0].audiences: expected a non-empty list');
  });
});

describe('formatPath', () => {
  it.each([
    [['trust', 0, 'rules', 1, 'scopes'], 'trust[0].rules[1].scopes'],
    [['sessions', 'user', 'maxRefreshes'], 'sessions.user.maxRefreshes'],
    [[], '(root)'],
  ] as const)('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});

describe('loadConfig: DPoP (docs/dpop.md)', () => {
  it('leaves DPoP optional per issuer and server nonces off by default', () => {
    const config = loadConfig({ trust: [CI, { ...USER, dpop: { required: true } }] });

    expect(config.trust.map((trust) => trust.dpop?.required)).toEqual([undefined, true]);
    expect(config.dpop).toEqual({ nonce: false, nonceLifetimeSeconds: 300 });
  });

  it.each([
    [{ trust: [{ ...CI, dpop: { required: 'yes' } }] }, ['trust[0].dpop.required: Invalid input: expected boolean, received string']],
    [{ trust: [{ ...CI, dpop: { optional: true } }] }, ['trust[0].dpop.optional: unknown key']],
    [{ trust: [CI], dpop: { nonce: true, nonceLifetimeSeconds: 10 } }, ['dpop.nonceLifetimeSeconds: Too small: expected number to be >=30']],
    [{ trust: [CI], dpop: { nonces: true } }, ['dpop.nonces: unknown key']],
  ])('reports %j by path', (document, expected) => {
    expect(problems(document)).toEqual(expected);
  });
});
