import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { importJWK, jwtVerify, type JWK } from 'jose';
import { generateSigningKeyDocument, importSigningKeys, publicJwk } from '../../src/adapters/jwk-set';
import { SIGNING_ALGORITHMS, type SigningAlg } from '../../src/config/config-rules';
import { AccessTokenError } from '../../src/domain/errors';
import type { SigningKeys } from '../../src/ports/signing-keys';
import { AccessTokens, type AccessTokenInput } from '../../src/services/access-tokens';
import { TestClock } from '../support/clock';

const ISSUER = 'https://tollgate.example.com';
const INPUT: AccessTokenInput = { sub: 'github:repo:acme/app', sid: 'sid-1', scope: 'deploy', kind: 'ci', clientId: 'github', context: {}, notAfter: Number.MAX_SAFE_INTEGER };

/**
 * Tollgate's own access tokens, for each signing algorithm it offers: what it
 * signs any JOSE library verifies, and its own `node:crypto` verification
 * accepts exactly what jose's `jwtVerify` would with the same options.
 */
describe.each(SIGNING_ALGORITHMS)('AccessTokens with %s keys', (alg: SigningAlg) => {
  let keys: SigningKeys;
  let privateJwk: JWK;
  let clock: TestClock;
  let tokens: AccessTokens;

  beforeAll(async () => {
    const document = await generateSigningKeyDocument(alg);
    privateJwk = document.keys[0]!;
    keys = await importSigningKeys(document);
  });

  beforeEach(() => {
    clock = new TestClock();
    tokens = new AccessTokens({ load: async () => keys }, clock, ISSUER, 'tollgate', 900);
  });

  /** A token as an attacker would make it by hand: any header, any claims, correctly signed with Tollgate's key. */
  async function forge(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ alg, kid: privateJwk.kid, typ: 'at+jwt', ...header })}.${encode(claims)}`;
    const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
    const signature = alg === 'EdDSA' ? cryptoSign(null, Buffer.from(input), key) : cryptoSign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
    return `${input}.${signature.toString('base64url')}`;
  }

  const refusal = async (token: string) => {
    try {
      await tokens.verify(token);
    } catch (error) {
      expect(error).toBeInstanceOf(AccessTokenError);
      return (error as AccessTokenError).code;
    }
    return 'accepted';
  };

  it('issues a token jose verifies with the published key, and verifies it itself', async () => {
    const { token, claims } = await tokens.issue(INPUT);

    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(publicJwk(privateJwk), alg), { issuer: ISSUER, audience: 'tollgate', typ: 'at+jwt' });
    expect(protectedHeader).toEqual({ alg, kid: privateJwk.kid, typ: 'at+jwt' });
    expect(payload).toEqual(claims);
    await expect(tokens.verify(token)).resolves.toEqual(claims);
  });

  it('accepts the full media type in typ, as RFC 7515 §4.1.9 allows', async () => {
    const { claims } = await tokens.issue(INPUT);
    await expect(tokens.verify(await forge({ typ: 'application/at+JWT' }, claims))).resolves.toEqual(claims);
  });

  it('refuses a token past its exp (none of leeway), unless revocation asks for it', async () => {
    const { token, claims } = await tokens.issue(INPUT);
    clock.advance(900);

    expect(await refusal(token)).toBe('TOKEN_EXPIRED');
    await expect(tokens.verify(token, { allowExpired: true })).resolves.toEqual(claims);
  });

  it.each<[string, (token: string) => string]>([
    ['a changed signature', (token) => `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`],
    ['a changed payload', (token) => { const [h, p, s] = token.split('.'); const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()); return [h, Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url'), s].join('.'); }],
    ['padding in a part', (token) => `${token}=`],
    ['a fourth part', (token) => `${token}.x`],
    ['the alg set to none and no signature', (token) => { const [, p] = token.split('.'); return `${Buffer.from(JSON.stringify({ alg: 'none', kid: privateJwk.kid, typ: 'at+jwt' })).toString('base64url')}.${p}.`; }],
  ])('refuses %s', async (_name, change) => {
    const { token } = await tokens.issue(INPUT);
    expect(await refusal(change(token))).toBe('TOKEN_INVALID');
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['an unknown kid', { kid: 'someone-else' }, {}],
    ['another typ', { typ: 'JWT' }, {}],
    ['a crit extension', { crit: ['exp'] }, {}],
    ['another issuer', {}, { iss: 'https://evil.example.com' }],
    ['another audience', {}, { aud: 'someone-else' }],
    ['no sid', {}, { sid: undefined }],
    ['an iat in the future', {}, { iat: Math.floor(Date.now() / 1000) + 600 }],
    ['an nbf in the future', {}, { nbf: Math.floor(Date.now() / 1000) + 600 }],
  ])('refuses %s', async (_name, header, changes) => {
    const { claims } = await tokens.issue(INPUT);
    expect(await refusal(await forge(header, { ...claims, ...changes }))).toBe('TOKEN_INVALID');
  });

  it('refuses a token whose header names another algorithm than the key\'s', async () => {
    const { claims } = await tokens.issue(INPUT);
    const other = alg === 'RS256' ? 'ES256' : 'RS256';
    const header = Buffer.from(JSON.stringify({ alg: other, kid: privateJwk.kid, typ: 'at+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = cryptoSign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(`${header}.${payload}`), createPrivateKey({ key: privateJwk as never, format: 'jwk' }));

    expect(await refusal(`${header}.${payload}.${signature.toString('base64url')}`)).toBe('TOKEN_INVALID');
  });

  if (alg === 'ES256') {
    it('refuses an ECDSA signature in DER instead of r‖s (RFC 7518 §3.4)', async () => {
      const { token } = await tokens.issue(INPUT);
      const [header, payload] = token.split('.');
      const der = cryptoSign('sha256', Buffer.from(`${header}.${payload}`), createPrivateKey({ key: privateJwk as never, format: 'jwk' }));

      expect(await refusal(`${header}.${payload}.${der.toString('base64url')}`)).toBe('TOKEN_INVALID');
    });
  }
});
