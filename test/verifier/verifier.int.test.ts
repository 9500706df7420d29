import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { generateSigningJwk, parseSigningKeyDocument } from '../../src/adapters/jwk-set';
import { bearerToken, createVerifier, hasScope, TollgateUnavailableError, TollgateVerifyError } from '../../src/verifier';
import { startCiTollgate, type CiTollgate } from '../support/ci-tollgate';
import { TestClock } from '../support/clock';
import { postForm } from '../support/http';
describe('createVerifier against a running Tollgate', () => {
  const clock = new TestClock();
  let ci: CiTollgate;
  let tollgate: CiTollgate['tollgate'];
  const accessToken = () => ci.accessToken();

  async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
    await expect(promise).rejects.toMatchObject({ code });
  }

  beforeAll(async () => {
    ci = await startCiTollgate(clock, ['orders:read', 'deploy']);
    tollgate = ci.tollgate;
  });

  afterAll(async () => {
    await ci?.close();
  });

  it('verifies offline with keys discovered from the metadata, returning typed claims', async () => {
    const verifier = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => clock.now() });
    const claims = await verifier.verify(await accessToken());
    expect(claims).toMatchObject({ iss: tollgate.baseUrl, aud: 'tollgate', kind: 'ci', scope: 'orders:read deploy' });
    expect(claims.gh?.repository_id).toBe('74');
    expect(hasScope(claims, 'orders:read')).toBe(true);
    expect(hasScope(claims, 'orders:read', 'orders:write')).toBe(false);
  });

  it.each([
    ['no token', async () => undefined, 'AUTH_REQUIRED'],
    ['garbage', async () => 'not.a.jwt', 'TOKEN_INVALID'],
    [
      'a token signed by a key Tollgate never published',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ sid: 's', scope: 'x', kind: 'ci', jti: 'j' })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown' })
          .setIssuer(tollgate.baseUrl)
          .setAudience('tollgate')
          .setSubject('github:x')
          .setIssuedAt(now)
          .setExpirationTime(now + 60)
          .sign(privateKey);
      },
      'TOKEN_INVALID',
    ],
  ])('refuses %s', async (_name, makeToken, code) => {
    const verifier = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => clock.now() });
    await expectCode(verifier.verify(await makeToken()), code);
  });

  it('refuses a token for another audience, and one from another issuer', async () => {
    const token = await accessToken();
    await expectCode(createVerifier({ issuer: tollgate.baseUrl, audience: 'other', now: () => clock.now() }).verify(token), 'TOKEN_INVALID');
    const jwksUri = `${tollgate.baseUrl}/.well-known/jwks.json`;
    await expectCode(
      createVerifier({ issuer: 'https://other.example', audience: 'tollgate', jwksUri, now: () => clock.now() }).verify(token),
      'TOKEN_INVALID',
    );
  });

  it('says TOKEN_EXPIRED once exp has passed, so clients know to refresh', async () => {
    const token = await accessToken();
    const later = new TestClock(clock.now() + 910_000); // beyond exp and the 5 s leeway
    const verifier = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => later.now() });
    await expectCode(verifier.verify(token), 'TOKEN_EXPIRED');
  });

  it('sees a revocation through introspection, while offline mode still accepts the token', async () => {
    const token = await accessToken();
    const offline = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => clock.now() });
    const online = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => clock.now(), introspect: { cacheSeconds: 0 } });
    await expect(online.verify(token)).resolves.toMatchObject({ kind: 'ci' });

    expect((await postForm(`${tollgate.baseUrl}/revoke`, { token })).status).toBe(200);

    await expectCode(online.verify(token), 'SESSION_ENDED');
    await expect(offline.verify(token)).resolves.toMatchObject({ kind: 'ci' });
  });

  it('picks up a rotated signing key after an unknown kid', async () => {
    const verifier = createVerifier({ issuer: tollgate.baseUrl, audience: 'tollgate', now: () => clock.now(), jwksCooldownSeconds: 0 });
    await verifier.verify(await accessToken());

    const keysFile = join(ci.dataDir, 'signing-keys.json');
    const document = parseSigningKeyDocument(readFileSync(keysFile, 'utf8'));
    const next = await generateSigningJwk('RS256');
    writeFileSync(keysFile, JSON.stringify({ current: next.kid, keys: [next, ...document.keys] }));
    clock.advance(301); // past Tollgate's signing-key cache

    const rotated = await accessToken();
    expect(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid).toBe(next.kid);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ kind: 'ci' });
  });

  it('reports an unreachable Tollgate as unavailable, not as a bad token', async () => {
    const verifier = createVerifier({ issuer: 'http://127.0.0.1:9', audience: 'tollgate', timeoutMs: 500 });
    await expect(verifier.verify(await accessToken())).rejects.toBeInstanceOf(TollgateUnavailableError);
  });

  it('parses only well-formed Bearer headers', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer abc def')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(new TollgateVerifyError('TOKEN_INVALID', 'x').code).toBe('TOKEN_INVALID');
  });
});
