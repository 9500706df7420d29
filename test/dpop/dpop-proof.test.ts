import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { DpopProofVerifier, accessTokenHash, normalizeHtu } from '../../src/dpop/dpop-proof';
import { TestClock } from '../support/clock';
import { MemoryReplayGuard } from '../support/memory-replay-guard';

const URL_CALLED = 'https://auth.example.com/token';

describe('DpopProofVerifier (RFC 9449)', () => {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let jkt: string;
  const clock = new TestClock();
  let verifier: DpopProofVerifier;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
    jkt = await calculateJwkThumbprint(publicJwk);
  });

  beforeEach(() => {
    verifier = new DpopProofVerifier(new MemoryReplayGuard(() => Math.floor(clock.now() / 1000)), clock);
  });

  function proof(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: CryptoKey = privateKey): Promise<string> {
    return new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: URL_CALLED, iat: Math.floor(clock.now() / 1000), ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: publicJwk, ...header } as never)
      .sign(key);
  }

  it('accepts a fresh proof and returns the key thumbprint', async () => {
    await expect(verifier.verify({ proof: await proof(), method: 'POST', url: URL_CALLED })).resolves.toEqual({ jkt });
  });

  it('ignores the query and fragment of htu, and case of scheme and host', async () => {
    const value = await proof({ htu: 'HTTPS://Auth.Example.com/token' });
    await expect(verifier.verify({ proof: value, method: 'POST', url: `${URL_CALLED}?x=1` })).resolves.toEqual({ jkt });
  });

  it('accepts a resource request whose ath matches the access token and whose key is the bound one', async () => {
    const value = await proof({ htm: 'GET', htu: 'https://auth.example.com/proxy/orders', ath: accessTokenHash('the.access.token') });
    await expect(
      verifier.verify({ proof: value, method: 'GET', url: 'https://auth.example.com/proxy/orders', accessToken: 'the.access.token', expectedJkt: jkt }),
    ).resolves.toEqual({ jkt });
  });

  it('refuses a replayed proof', async () => {
    const value = await proof();
    await verifier.verify({ proof: value, method: 'POST', url: URL_CALLED });
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ detail: 'proof replayed' });
  });

  it.each([
    ['wrong typ', {}, { typ: 'JWT' }, 'typ is not dpop+jwt'],
    ['no jwk header', {}, { jwk: undefined }, 'no jwk header'],
    ['a private key in the jwk header', {}, { jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' } }, 'jwk header is not a public key'],
    ['wrong htm', { htm: 'GET' }, {}, 'htm mismatch'],
    ['wrong htu', { htu: 'https://evil.example/token' }, {}, 'htu mismatch'],
    ['iat too old', { iat: Math.floor(Date.now() / 1000) - 3600 }, {}, 'iat outside the window'],
    ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600 }, {}, 'iat outside the window'],
    ['short jti', { jti: 'x' }, {}, 'bad jti'],
    ['missing ath for a token request', { ath: undefined }, {}, 'ath mismatch'],
  ])('refuses %s', async (_name, claims, header, detail) => {
    const value = await proof(claims, header);
    const accessToken = _name.startsWith('missing ath') ? 'a.b.c' : undefined;
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED, accessToken })).rejects.toMatchObject({
      error: 'invalid_dpop_proof',
      detail,
    });
  });

  it('refuses a proof signed by another key than the one in its header', async () => {
    const other = await generateKeyPair('ES256');
    const value = await proof({}, {}, other.privateKey);
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('refuses a proof by another key than the bound one', async () => {
    await expect(verifier.verify({ proof: await proof(), method: 'POST', url: URL_CALLED, expectedJkt: 'someone-else' })).rejects.toMatchObject({
      detail: 'proof key is not the bound key',
    });
  });

  it('refuses an HMAC proof', async () => {
    const value = await new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: URL_CALLED, iat: Math.floor(clock.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as never)
      .sign(new TextEncoder().encode('secret'));
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('normalises htu values', () => {
    expect(normalizeHtu('https://A.example:443/x?y#z')).toBe('https://a.example/x');
    expect(normalizeHtu('not a url')).toBeUndefined();
  });
});
