import { loadConfig, type ProxyRoute } from '../../src/config/config';
import { matchRoute } from '../../src/domain/route-rules';

function routes(input: unknown[]): readonly ProxyRoute[] {
  const config = loadConfig({
    trust: [{ name: 't', issuer: 'https://issuer.example', kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { sub: 'x' }, scopes: ['s'] }] }],
    proxy: { upstreamUrl: 'https://api.example', routes: input },
  });
  return config.proxy!.routes;
}

describe('matchRoute', () => {
  const table = routes([
    { name: 'admin', methods: ['*'], path: '/orders/admin/**', scopes: ['orders:admin'] },
    { name: 'read', methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] },
    { methods: ['POST', 'PUT'], path: '/orders/*', scopes: ['orders:write'] },
    { methods: ['GET'], path: '/health', scopes: [] },
    { methods: ['DELETE'], path: '/orders/*/items/*', scopes: ['orders:write'] },
  ]);

  it.each([
    ['GET', '/orders', 'read'],
    ['GET', '/orders/42', 'read'],
    ['GET', '/orders/42/items/1', 'read'],
    ['GET', '/orders/admin/users', 'admin'],
    ['DELETE', '/orders/admin', 'admin'],
    ['POST', '/orders/42', '2'],
    ['put', '/orders/42', '2'],
    ['GET', '/health', '3'],
    ['DELETE', '/orders/42/items/7', '4'],
  ])('%s %s is decided by rule %s', (method, path, id) => {
    expect(matchRoute(table, method, path)?.id).toBe(id);
  });

  it('lets the first matching rule decide, even when a later one would ask less', () => {
    const ordered = routes([
      { methods: ['GET'], path: '/docs/private/**', scopes: ['docs:private'] },
      { methods: ['GET'], path: '/docs/**', scopes: [] },
    ]);
    expect(matchRoute(ordered, 'GET', '/docs/private/plan')?.rule.scopes).toEqual(['docs:private']);
  });

  it.each([
    ['POST', '/orders/42/items', 'no POST rule two segments deep'],
    ['HEAD', '/orders/42', 'a GET rule does not allow HEAD'],
    ['GET', '/ordersx', 'globs match whole segments'],
    ['GET', '/health/x', 'a literal path matches only itself'],
    ['GET', '/Orders/42', 'paths are case-sensitive'],
    ['PATCH', '/orders/42', 'method not listed'],
    ['DELETE', '/orders/42/items', '* needs one segment'],
  ])('denies %s %s (%s)', (method, path) => {
    expect(matchRoute(table, method, path)).toBeUndefined();
  });

  it('denies everything when no rules are configured', () => {
    expect(matchRoute(routes([]), 'GET', '/anything')).toBeUndefined();
  });
});
