import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { DpopProofVerifier, accessTokenHash, normalizeHtu } from '../../src/domain/dpop-proof';
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
    const value = await proof({ htm: 'GET', htu: 'https://auth.example.com/proxy/orders', ath: await accessTokenHash('the.access.token') });
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
    ['htm in another case (methods are case-sensitive)', { htm: 'post' }, {}, 'htm mismatch'],
    ['a non-numeric iat', { iat: 'now' }, {}, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an htu that is not http(s)', { htu: 'urn:example:token' }, {}, 'htu mismatch'],
    ['wrong htu', { htu: 'https://evil.example/token' }, {}, 'htu mismatch'],
    ['iat too old', { iat: Math.floor(Date.now() / 1000) - 3600 }, {}, 'iat outside the window'],
    ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600 }, {}, 'iat outside the window'],
    ['short jti', { jti: 'x' }, {}, 'bad jti'],
    ['missing ath for a token request', { ath: undefined }, {}, 'ath mismatch'],
  ])('refuses %s', async (_name, claims, header, detail) => {
    const value = await proof(claims, header);
    const accessToken = _name.startsWith('missing ath') ? 'a.b.c' : undefined;
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED, accessToken })).rejects.toMatchObject({
      code: 'PROOF_INVALID',
      detail,
    });
  });

  it('refuses a proof signed by another key than the one in its header', async () => {
    const other = await generateKeyPair('ES256');
    const value = await proof({}, {}, other.privateKey);
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ code: 'PROOF_INVALID' });
  });

  it('refuses a proof by another key than the bound one', async () => {
    await expect(verifier.verify({ proof: await proof(), method: 'POST', url: URL_CALLED, expectedJkt: 'someone-else' })).rejects.toMatchObject({
      code: 'KEY_MISMATCH',
      detail: 'proof key is not the bound key',
    });
  });

  it('refuses an HMAC proof', async () => {
    const value = await new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: URL_CALLED, iat: Math.floor(clock.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as never)
      .sign(new TextEncoder().encode('secret'));
    await expect(verifier.verify({ proof: value, method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ code: 'PROOF_INVALID' });
  });

  it('leaves no replay marker for a refused proof, so only accepted proofs cost a write', async () => {
    const guard = new MemoryReplayGuard(() => Math.floor(clock.now() / 1000));
    const strict = new DpopProofVerifier(guard, clock);
    await expect(strict.verify({ proof: await proof({ htm: 'GET' }), method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ code: 'PROOF_INVALID' });
    await expect(strict.verify({ proof: await proof(), method: 'POST', url: URL_CALLED, expectedJkt: 'other' })).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    expect(guard.entries.size).toBe(0);
  });

  it('keeps the jti marker until the proof could no longer be accepted anyway', async () => {
    const guard = new MemoryReplayGuard(() => Math.floor(clock.now() / 1000));
    await new DpopProofVerifier(guard, clock).verify({ proof: await proof(), method: 'POST', url: URL_CALLED });
    const [expiresAt] = [...guard.entries.values()];
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(clock.now() / 1000) + 2 * 60);
  });

  describe('server nonces', () => {
    const accepting = (accepted: string) => ({ accepts: async (nonce: unknown) => nonce === accepted });

    it('asks for a nonce when the proof has none, and for a fresh one when it is not accepted', async () => {
      const withNonces = new DpopProofVerifier(new MemoryReplayGuard(() => Math.floor(clock.now() / 1000)), clock, accepting('good'));
      expect(withNonces.noncesRequired).toBe(true);
      await expect(withNonces.verify({ proof: await proof(), method: 'POST', url: URL_CALLED })).rejects.toMatchObject({ code: 'NONCE_REQUIRED', detail: 'no nonce' });
      await expect(withNonces.verify({ proof: await proof({ nonce: 'stale' }), method: 'POST', url: URL_CALLED })).rejects.toMatchObject({
        code: 'NONCE_REQUIRED',
        detail: 'stale or foreign nonce',
      });
      await expect(withNonces.verify({ proof: await proof({ nonce: 'good' }), method: 'POST', url: URL_CALLED })).resolves.toEqual({ jkt });
    });
  });

  it.each([
    ['https://A.example:443/x?y#z', 'https://a.example/x'],
    ['http://127.0.0.1:8787/token', 'http://127.0.0.1:8787/token'],
    ['https://a.example/x/../y', 'https://a.example/y'],
    ['https://user@a.example/x', 'https://a.example/x'],
    ['not a url', undefined],
    ['ftp://a.example/x', undefined],
  ])('normalises the htu %s to %s', (value, expected) => {
    expect(normalizeHtu(value)).toBe(expected);
  });

  it('hashes the access token as RFC 9449 §4.2 says (base64url SHA-256, no padding)', async () => {
    // The ath of the RFC's own example access token (§7.1, Figure 13).
    expect(await accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });
});
