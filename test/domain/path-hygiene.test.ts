import { canonicalProxyPath } from '../../src/domain/path-hygiene';
import { ProxyError } from '../../src/domain/errors';

function refusal(raw: string): string | undefined {
  try {
    canonicalProxyPath(raw);
    return undefined;
  } catch (error) {
    if (error instanceof ProxyError) return error.code;
    throw error;
  }
}

describe('canonicalProxyPath', () => {
  it.each([
    ['orders/42', '/orders/42'],
    ['orders/42/items', '/orders/42/items'],
    ['files/report.v2.json', '/files/report.v2.json'],
    ['a/...', '/a/...'],
    ['a/.hidden', '/a/.hidden'],
    ['users/alice@example.com', '/users/alice@example.com'],
    ["x/!$&'()*+,=:@-_~", "/x/!$&'()*+,=:@-_~"],
    ['search/a%20b', '/search/a%20b'],
    ['%7Euser/%41bc', '/~user/Abc'],
    ['caf%c3%a9', '/caf%C3%A9'],
    ['q/%3f%23%26', '/q/%3F%23%26'],
  ])('accepts %s as %s', (raw, canonical) => {
    expect(canonicalProxyPath(raw)).toBe(canonical);
  });

  it.each([
    ['dot-dot segment', 'orders/../admin'],
    ['leading dot-dot', '../admin'],
    ['trailing dot-dot', 'orders/..'],
    ['dot segment', 'orders/./42'],
    ['lone dot', '.'],
    ['encoded dot-dot, lower case', 'orders/%2e%2e/admin'],
    ['encoded dot-dot, upper case', 'orders/%2E%2E/admin'],
    ['half-encoded dot-dot', 'orders/.%2e/admin'],
    ['encoded dot inside a name', 'orders/a%2Ejson'],
    ['encoded slash, lower case', 'orders%2fadmin'],
    ['encoded slash, upper case', 'orders%2Fadmin'],
    ['raw backslash', 'orders\\..\\admin'],
    ['encoded backslash', 'orders%5c..%5cadmin'],
    ['encoded backslash, upper case', 'orders%5C42'],
    ['raw NUL', 'orders/42\u0000'],
    ['encoded NUL', 'orders/42%00.json'],
    ['raw newline', 'orders/4\n2'],
    ['encoded CR LF', 'orders/42%0d%0aX-Injected:%201'],
    ['encoded tab', 'orders/%09'],
    ['encoded DEL', 'orders/%7f'],
    ['encoded C1 control (U+0085)', 'orders/%c2%85'],
    ['raw space', 'orders/a b'],
    ['raw non-ASCII', 'orders/café'],
    ['empty segment', 'orders//42'],
    ['leading slash (empty first segment)', '/orders'],
    ['trailing slash', 'orders/'],
    ['empty path', ''],
    ['double-encoded dot', 'orders/%252e%252e/admin'],
    ['double-encoded slash', 'orders%252fadmin'],
    ['encoded percent', 'orders/100%25'],
    ['triple-encoded dot', 'orders/%25252e'],
    ['malformed encoding', 'orders/%zz'],
    ['truncated encoding', 'orders/%4'],
    ['overlong UTF-8 dot', 'orders/%c0%ae%c0%ae/admin'],
    ['overlong UTF-8 slash', 'orders%c0%afadmin'],
    ['invalid UTF-8', 'orders/%ff'],
    ['fullwidth dots (NFKC ..)', 'orders/%ef%bc%8e%ef%bc%8e/admin'],
    ['fullwidth solidus (NFKC /)', 'orders%ef%bc%8fadmin'],
    ['small reverse solidus (NFKC \\)', 'orders%ef%b9%a8admin'],
    ['raw semicolon (matrix parameter)', 'admin;x=1/users'],
    ['dot-dot with matrix parameter', 'orders/..;/admin'],
    ['encoded semicolon', 'admin%3bx/users'],
    ['raw question mark', 'orders?x'],
    ['raw hash', 'orders#x'],
  ])('refuses %s', (_name, raw) => {
    expect(refusal(raw)).toBe('INVALID_PATH');
  });

  it('refuses a path longer than 4096 characters', () => {
    expect(refusal('a/'.repeat(2049) + 'a')).toBe('INVALID_PATH');
  });
});
