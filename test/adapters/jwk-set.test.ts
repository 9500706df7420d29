import { SignJWT, jwtVerify } from 'jose';
import { generateSigningJwk, generateSigningKeyDocument, importSigningKeys, parseSigningKeyDocument, publicJwk } from '../../src/adapters/jwk-set';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

describe('publicJwk', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('keeps only the public members of a %s key, with use "sig"', async (alg) => {
    const jwk = await generateSigningJwk(alg);

    const pub = publicJwk({ ...jwk, key_ops: ['sign'] });

    for (const member of PRIVATE_MEMBERS) expect(pub).not.toHaveProperty(member);
    expect(pub).not.toHaveProperty('key_ops');
    expect(pub).toMatchObject({ kid: jwk.kid, alg, use: 'sig', kty: jwk.kty });
  });
});

describe('signing key documents', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('signs with the current %s key and verifies with its published key', async (alg) => {
    const keys = await importSigningKeys(await generateSigningKeyDocument(alg));
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: keys.current.alg, kid: keys.current.kid }).sign(keys.current.key);

    const { payload } = await jwtVerify(token, keys.verificationKey(keys.current.kid)!);

    expect(payload.sub).toBe('x');
    expect(keys.publicJwks).toHaveLength(1);
  });

  it('publishes the current key first and keeps the previous one during rotation', async () => {
    const old = await generateSigningJwk('RS256');
    const next = await generateSigningJwk('RS256');

    const keys = await importSigningKeys({ current: next.kid!, keys: [old, next] });

    expect(keys.publicJwks.map((jwk) => jwk.kid)).toEqual([next.kid, old.kid]);
    expect(keys.verificationKey(old.kid!)).toBeDefined();
    expect(keys.current.kid).toBe(next.kid);
  });

  it.each([
    ['not JSON', '{', 'signing key document is not valid JSON'],
    ['no current', JSON.stringify({ keys: [] }), 'signing key document must be { current, keys[] }'],
    ['keys not a list', JSON.stringify({ current: 'a', keys: {} }), 'signing key document must be { current, keys[] }'],
    ['a public key only', JSON.stringify({ current: 'a', keys: [{ kid: 'a', alg: 'RS256', kty: 'RSA', n: 'x', e: 'AQAB' }] }), 'every signing key needs kid, alg and private members'],
    ['current names no key', JSON.stringify({ current: 'b', keys: [{ kid: 'a', alg: 'RS256', kty: 'RSA', d: 'secret-d-value' }] }), 'signing key document: current names no key'],
  ])('refuses a document with %s, without echoing key material', (_name, text, message) => {
    expect(() => parseSigningKeyDocument(text)).toThrow(message);
    try {
      parseSigningKeyDocument(text);
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-d-value');
    }
  });
});
