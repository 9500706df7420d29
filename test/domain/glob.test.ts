import { matchesClaimPattern, matchesPathGlob } from '../../src/domain/glob';

describe('matchesClaimPattern', () => {
  it.each([
    ['exact', 'refs/heads/main', 'refs/heads/main', true],
    ['exact is case-sensitive', 'refs/heads/main', 'refs/heads/Main', false],
    ['anchored at the start', 'heads/main', 'refs/heads/main', false],
    ['anchored at the end', 'refs/heads', 'refs/heads/main', false],
    ['* within a segment', 'refs/heads/release-*', 'refs/heads/release-1.2', true],
    ['* matches an empty run', 'refs/heads/release-*', 'refs/heads/release-', true],
    ['* does not cross /', 'refs/heads/*', 'refs/heads/feature/x', false],
    ['** crosses /', 'refs/heads/**', 'refs/heads/feature/x', true],
    ['** alone matches anything', '**', 'a/b/c', true],
    ['** matches the empty string', '**', '', true],
    ['* alone does not match a slash', '*', 'a/b', false],
    ['* in the middle', 'acme/*/.github/workflows/deploy.yml@refs/heads/main', 'acme/app/.github/workflows/deploy.yml@refs/heads/main', true],
    ['. is literal', 'a.c', 'abc', false],
    ['+ is literal', 'a+', 'aa', false],
    ['? is literal', 'a?', 'a', false],
    ['brackets are literal', '[ab]', 'a', false],
    ['parentheses are literal', '(a|b)', 'a', false],
    ['^ and $ are literal', '^a$', '^a$', true],
    ['backslash is literal', 'a\\d', 'a\\d', true],
    ['backslash does not escape', 'a\\d', 'a1', false],
    ['* matches a newline-free run only within a segment', 'a*', 'a\nb', true],
    ['** then * ', '**/*.yml', 'a/b/c.yml', true],
    ['*** behaves as ** then *', '***', 'a/b', true],
  ])('%s', (_name, pattern, value, expected) => {
    expect(matchesClaimPattern(pattern, value)).toBe(expected);
  });
});

describe('matchesPathGlob', () => {
  it.each([
    ['exact path', '/orders', '/orders', true],
    ['exact path, other', '/orders', '/order', false],
    ['* is one segment', '/orders/*', '/orders/42', true],
    ['* is exactly one segment', '/orders/*', '/orders/42/items', false],
    ['* is never an empty segment', '/orders/*', '/orders/', false],
    ['* needs a segment', '/orders/*', '/orders', false],
    ['* within a segment', '/orders/*.json', '/orders/42.json', true],
    ['* within a segment does not cross /', '/orders/*.json', '/orders/4/2.json', false],
    ['** matches zero segments', '/orders/**', '/orders', true],
    ['** matches one segment', '/orders/**', '/orders/42', true],
    ['** matches many segments', '/orders/**', '/orders/42/items/7', true],
    ['** does not match a sibling prefix', '/orders/**', '/orders-admin/x', false],
    ['** in the middle', '/orders/**/items', '/orders/1/2/items', true],
    ['** in the middle, zero segments', '/orders/**/items', '/orders/items', true],
    ['/** matches the root', '/**', '/', true],
    ['/** matches anything', '/**', '/a/b', true],
    ['/ matches the root', '/', '/', true],
    ['/ matches only the root', '/', '/a', false],
    ['. is literal', '/v1.0/x', '/v1a0/x', false],
    ['regex characters are literal', '/a+b', '/aab', false],
    ['empty segments never match *', '/a/*/b', '/a//b', false],
    ['case-sensitive', '/Orders', '/orders', false],
  ])('%s', (_name, glob, path, expected) => {
    expect(matchesPathGlob(glob, path)).toBe(expected);
  });
});
