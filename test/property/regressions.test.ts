import { encodeQuery } from '../../src/services/proxy-service';

/**
 * Counterexamples the property suites found, each kept as a named test so it
 * stays fixed whatever seed the properties run with (`fc-budget.ts`).
 */
describe('regressions found by the property suites', () => {
  it('encodeQuery: a lone surrogate in a query name or value is U+FFFD, not a URIError (a 500 at the proxy) — parsers.test.ts, seed 20261206, [["\\ud800",""]]', () => {
    expect(encodeQuery([['\uD800', '']])).toBe('%EF%BF%BD=');
    expect(encodeQuery([['a', 'x\uDC00y']])).toBe('a=x%EF%BF%BDy');
  });
});
