import { canonicalJson, checkConfigStamp, configStamp, CONFIG_SCHEMA_VERSION } from '../../src/config/config-stamp';

describe('config stamp', () => {
  it('gives equal values equal text, whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson({ a: { d: [{ x: 2, y: 1 }] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }] } }));
  });

  it('vouches for exactly the text it was made for, by this schema version', () => {
    const text = canonicalJson({ audience: 'tollgate' });
    const stamp = configStamp(text);

    expect(stamp).toMatch(new RegExp(`^tollgate-config/v${CONFIG_SCHEMA_VERSION}/sha256:[A-Za-z0-9_-]{43}$`));
    expect(checkConfigStamp(text, stamp)).toBeUndefined();
    expect(checkConfigStamp(`${text} `, stamp)).toEqual({ kind: 'digest' });
    expect(checkConfigStamp(text, configStamp(text, CONFIG_SCHEMA_VERSION + 1))).toEqual({ kind: 'version', stamped: CONFIG_SCHEMA_VERSION + 1, expected: CONFIG_SCHEMA_VERSION });
    expect(checkConfigStamp(text, undefined)).toEqual({ kind: 'missing' });
    expect(checkConfigStamp(text, 'sha256:abc')).toEqual({ kind: 'malformed' });
  });
});
