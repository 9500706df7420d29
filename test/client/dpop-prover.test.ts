import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { DpopProver } from '../../src/client/dpop-prover';
import { DpopProofVerifier, accessTokenHash } from '../../src/domain/dpop-proof';
import { TestClock } from '../support/clock';
import { MemoryReplayGuard } from '../support/memory-replay-guard';

const URL_CALLED = 'https://auth.example.com/prod/proxy/orders/1';

describe('DpopProver (the client side of RFC 9449)', () => {
  const clock = new TestClock();
  const verifier = () => new DpopProofVerifier(new MemoryReplayGuard(() => Math.floor(clock.now() / 1000)), clock);

  it('makes a non-extractable ES256 key on first use, whose proofs the server accepts', async () => {
    const prover = new DpopProver(true, clock);

    const proof = await prover.proof('GET', `${URL_CALLED}?page=2#top`, 'the.access.token');

    const header = decodeProtectedHeader(proof);
    expect(header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(header.jwk!).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(decodeJwt(proof)).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      htm: 'GET',
      htu: URL_CALLED,
      iat: Math.floor(clock.now() / 1000),
      ath: await accessTokenHash('the.access.token'),
    });
    const jkt = await calculateJwkThumbprint(header.jwk as JWK);
    await expect(verifier().verify({ proof, method: 'GET', url: URL_CALLED, accessToken: 'the.access.token', expectedJkt: jkt })).resolves.toEqual({ jkt });
  });

  it('uses one key for every proof, and a fresh jti each time', async () => {
    const prover = new DpopProver(true, clock);
    const first = await prover.proof('POST', 'https://auth.example.com/token');
    const second = await prover.proof('POST', 'https://auth.example.com/token');

    expect(decodeProtectedHeader(first).jwk).toEqual(decodeProtectedHeader(second).jwk);
    expect(decodeJwt(first).jti).not.toBe(decodeJwt(second).jti);
    expect(decodeJwt(first)).not.toHaveProperty('ath');
  });

  it('generates the private key non-extractable', async () => {
    const spy = jest.spyOn(crypto.subtle, 'generateKey');
    try {
      await new DpopProver(true, clock).proof('POST', 'https://auth.example.com/token');
      expect(spy).toHaveBeenCalledWith({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      const pair = (await spy.mock.results[0]!.value) as CryptoKeyPair;
      expect(pair.privateKey.extractable).toBe(false);
      await expect(crypto.subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
  });

  it.each([
    ['ES384', { name: 'ECDSA', namedCurve: 'P-384' }],
    ['EdDSA', { name: 'Ed25519' }],
    ['RS256', { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }],
    ['PS256', { name: 'RSA-PSS', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }],
  ])('signs with a given %s key pair', async (alg, algorithm) => {
    const pair = (await crypto.subtle.generateKey(algorithm as AlgorithmIdentifier, false, ['sign', 'verify'])) as CryptoKeyPair;

    const proof = await new DpopProver(pair, clock).proof('PUT', URL_CALLED, 'tok');

    expect(decodeProtectedHeader(proof).alg).toBe(alg);
    await expect(verifier().verify({ proof, method: 'PUT', url: URL_CALLED, accessToken: 'tok' })).resolves.toEqual({ jkt: expect.any(String) });
  });

  it.each([
    ['an HMAC key', async () => ({ privateKey: await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']), publicKey: {} })],
    ['an ECDSA P-521 key', async () => crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, false, ['sign', 'verify'])],
    ['no key pair', async () => ({})],
  ])('refuses %s', async (_name, make) => {
    const pair = (await make()) as CryptoKeyPair;
    expect(() => new DpopProver(pair, clock)).toThrow(TypeError);
  });

  it('puts the latest DPoP-Nonce of a response in later proofs', async () => {
    const prover = new DpopProver(true, clock);

    expect(prover.observe(new Response(null, { headers: { 'DPoP-Nonce': 'n-1' } }))).toBe(true);
    expect(prover.observe(new Response(null, { headers: { 'DPoP-Nonce': 'n-1' } }))).toBe(false);
    expect(prover.observe(new Response(null))).toBe(false);

    expect(decodeJwt(await prover.proof('POST', 'https://auth.example.com/token')).nonce).toBe('n-1');
  });
});
