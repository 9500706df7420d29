import { formatScope, MAX_REQUESTED_SCOPES, missingScopes, parseScope } from '../../src/domain/scope';

describe('parseScope', () => {
  it.each([
    ['one scope', 'orders:read', ['orders:read']],
    ['several scopes', 'orders:read orders:write deploy', ['orders:read', 'orders:write', 'deploy']],
    ['double spaces', 'a  b', ['a', 'b']],
    ['leading and trailing spaces', ' a b ', ['a', 'b']],
    ['duplicates, keeping the first position', 'b a b', ['b', 'a']],
    ['only spaces', '   ', []],
    ['every allowed punctuation', '!#$%&()*+,-./:;<=>?@[]^_`{|}~', ['!#$%&()*+,-./:;<=>?@[]^_`{|}~']],
    ['a tab', 'a\tb', null],
    ['a double quote', 'a"b', null],
    ['a backslash', 'a\\b', null],
    ['non-ASCII', 'café', null],
    ['DEL', 'a\x7f', null],
    ['a newline', 'a\nb', null],
    ['one scope too many', Array.from({ length: MAX_REQUESTED_SCOPES + 1 }, (_, i) => `s${i}`).join(' '), null],
  ])('%s', (_name, value, expected) => {
    expect(parseScope(value)).toEqual(expected);
  });

  it('accepts exactly the maximum number of scopes', () => {
    const value = Array.from({ length: MAX_REQUESTED_SCOPES }, (_, i) => `s${i}`).join(' ');

    expect(parseScope(value)).toHaveLength(MAX_REQUESTED_SCOPES);
  });
});

describe('missingScopes', () => {
  it.each([
    [['a'], ['a', 'b'], []],
    [['a', 'c'], ['a', 'b'], ['c']],
    [[], ['a'], []],
    [['a'], [], ['a']],
    [['A'], ['a'], ['A']],
  ])('%j within %j misses %j', (requested, granted, expected) => {
    expect(missingScopes(requested, granted)).toEqual(expected);
  });
});

describe('formatScope', () => {
  it('joins with single spaces', () => {
    expect(formatScope(['a', 'b:c'])).toBe('a b:c');
    expect(formatScope([])).toBe('');
  });
});
