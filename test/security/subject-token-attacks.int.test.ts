import { createPublicKey } from 'node:crypto';
import { CompactEncrypt, SignJWT, decodeJwt, generateKeyPair, importJWK } from 'jose';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { oauthError, REPO } from '../integration/token-fixtures';
import { expectNothingLogged, handMadeJwt, startAttackSuite, type AttackSuite } from './attack-suite';

/**
 * Forged, confused and out-of-policy **subject tokens** at `POST /token`
 * (RFC 8693 token exchange), one table: each case names the expected status
 * and exact RFC 6749 §5.2 body, and nothing may be issued or written (both
 * tables are read whole before and after). RFC 8725 §2 lists the attacks.
 * docs/security.md reproduces this table.
 */

const NOT_VALID = oauthError('invalid_grant', 'subject token is not valid');
const UNTRUSTED = oauthError('invalid_grant', 'subject token issuer is not trusted');
const NOT_A_JWT = oauthError('invalid_grant', 'subject token is not a signed JWT');
const ACCESS_TOKEN = oauthError('invalid_grant', 'access tokens are not accepted as subject tokens');
const NO_RULE = oauthError('invalid_grant', 'no trust rule grants a scope to this subject');

type Make = (s: AttackSuite) => Promise<string>;

const claims = (s: AttackSuite, extra: Record<string, unknown> = {}) => ({ ...githubActionsClaims(s.github.issuer, s.now(), REPO), ...extra });

/** Signs GitHub-shaped claims with the GitHub issuer's real key and any protected header (jose checks `crit` when signing unless told which to accept). */
const signWithGithubKey = (s: AttackSuite, header: Record<string, unknown>, crit: Record<string, boolean> = {}) =>
  new SignJWT(claims(s)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: s.github.currentKey().kid, ...header }).sign(s.github.currentKey().privateKey, { crit });

const attackerSigned = (s: AttackSuite, header: Record<string, unknown>) =>
  new SignJWT(claims(s)).setProtectedHeader({ alg: 'RS256', ...header } as never).sign(s.canary.privateKey);

const CASES: [string, Make, { error: string; error_description: string }][] = [
  // Algorithms (RFC 8725 §2.1, §3.1).
  ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, Make, typeof NOT_VALID] => [
    `alg ${alg}, no signature`,
    async (s) => handMadeJwt({ alg, typ: 'JWT', kid: s.github.currentKey().kid }, claims(s)),
    NOT_VALID,
  ]),
  ['alg none with a signature part', async (s) => handMadeJwt({ alg: 'none', typ: 'JWT' }, claims(s), 'c2lnbmF0dXJl'), NOT_VALID],
  ['HS256 signed with the issuer’s public key (PEM) as the secret', async (s) => {
    const pem = createPublicKey({ key: s.github.currentKey().publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    return new SignJWT(claims(s)).setProtectedHeader({ alg: 'HS256', kid: s.github.currentKey().kid }).sign(new TextEncoder().encode(pem));
  }, NOT_VALID],
  ['HS256 signed with the issuer’s JWK as the secret', async (s) =>
    new SignJWT(claims(s)).setProtectedHeader({ alg: 'HS256', kid: s.github.currentKey().kid }).sign(new TextEncoder().encode(JSON.stringify(s.github.currentKey().publicJwk))),
  NOT_VALID],
  ['HS256 signed with the issuer’s RSA modulus as the secret', async (s) =>
    new SignJWT(claims(s)).setProtectedHeader({ alg: 'HS256', kid: s.github.currentKey().kid }).sign(Buffer.from(s.github.currentKey().publicJwk.n!, 'base64url')),
  NOT_VALID],
  // Keys (RFC 8725 §3.10: keys only from the issuer's JWKS).
  ['an unknown kid', async (s) => s.github.signWithUnpublishedKey(claims(s)), NOT_VALID],
  ['no kid, another key', async (s) => attackerSigned(s, { typ: 'JWT' }), NOT_VALID],
  ['a published kid but another key', async (s) => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT(claims(s)).setProtectedHeader({ alg: 'RS256', kid: s.github.currentKey().kid }).sign(privateKey);
  }, NOT_VALID],
  ['a jku header pointing at the attacker’s JWKS (never fetched)', async (s) => attackerSigned(s, { kid: 'attacker', jku: `${s.canary.url}/jwks.json` }), NOT_VALID],
  ['a jku header and the issuer’s kid', async (s) => attackerSigned(s, { kid: s.github.currentKey().kid, jku: `${s.canary.url}/jwks.json` }), NOT_VALID],
  ['an x5u header pointing at the attacker’s certificate (never fetched)', async (s) => attackerSigned(s, { kid: 'attacker', x5u: `${s.canary.url}/cert.pem` }), NOT_VALID],
  ['an x5c header (certificates in the token are ignored)', async (s) => attackerSigned(s, { kid: 'attacker', x5c: [Buffer.from('not a certificate').toString('base64')] }), NOT_VALID],
  ['an embedded jwk header (the attacker’s own key)', async (s) => attackerSigned(s, { jwk: s.canary.publicJwk }), NOT_VALID],
  ['a tampered payload (another repository id)', async (s) => {
    const [header, , signature] = (await s.githubToken({ repositoryId: '75' })).split('.');
    return `${header}.${Buffer.from(JSON.stringify(claims(s))).toString('base64url')}.${signature}`;
  }, NOT_VALID],
  ['a GitHub token signed by the Clerk issuer’s key (Clerk’s kid)', async (s) => s.clerk.sign(claims(s)), NOT_VALID],
  ['a GitHub token signed by the Clerk issuer’s key (GitHub’s kid)', async (s) => s.clerk.sign(claims(s), { kid: s.github.currentKey().kid }), NOT_VALID],
  // crit (RFC 7515 §4.1.11): a token with a critical extension Tollgate does not understand is refused, even validly signed.
  ['a validly signed token with an unknown crit extension', async (s) => signWithGithubKey(s, { crit: ['urn:example:bound'], 'urn:example:bound': true }, { 'urn:example:bound': true }), NOT_VALID],
  ['a validly signed token with crit b64: false (RFC 7797 unencoded payload)', async (s) => {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: s.github.currentKey().kid, b64: false, crit: ['b64'] })).toString('base64url');
    const payload = JSON.stringify(claims(s));
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', s.github.currentKey().privateKey, new TextEncoder().encode(`${header}.${payload}`));
    return `${header}.${Buffer.from(payload).toString('base64url')}.${Buffer.from(signature).toString('base64url')}`;
  }, NOT_VALID],
  ['an empty crit list', async (s) => handMadeJwt({ alg: 'RS256', kid: s.github.currentKey().kid, crit: [] }, claims(s), 'c2ln'), NOT_VALID],
  ['crit naming a header that is absent', async (s) => handMadeJwt({ alg: 'RS256', kid: s.github.currentKey().kid, crit: ['exp'] }, claims(s), 'c2ln'), NOT_VALID],
  // Serialization.
  ['a JWE (encrypted to the issuer’s key) instead of a JWS', async (s) => {
    const key = await importJWK({ ...s.github.currentKey().publicJwk, alg: 'RSA-OAEP-256', use: 'enc' }, 'RSA-OAEP-256');
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims(s)))).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' }).encrypt(key);
  }, NOT_A_JWT],
  ['a JWE-shaped token', async () => 'a.b.c.d.e', NOT_A_JWT],
  ['a payload that is not JSON', async (s) => {
    const [header, , signature] = (await s.githubToken()).split('.');
    return `${header}.${Buffer.from('not json').toString('base64url')}.${signature}`;
  }, NOT_A_JWT],
  ['not a JWT at all', async () => 'not-a-jwt', NOT_A_JWT],
  // Time (RFC 7519 §4.1.4–4.1.6; 30 s leeway for ci issuers by default).
  ['expired beyond the leeway', (s) => s.githubToken({ ttlSeconds: -31 }), oauthError('invalid_grant', 'subject token is expired')],
  ['expired long ago', (s) => s.github.sign(githubActionsClaims(s.github.issuer, s.now() - 3_600, REPO)), oauthError('invalid_grant', 'subject token is expired')],
  ['nbf in the future', (s) => s.githubToken({ extra: { nbf: s.now() + 120 } }), oauthError('invalid_grant', 'subject token is not valid yet')],
  ['iat far in the future', (s) => s.githubToken({ extra: { iat: s.now() + 3_600, nbf: s.now() - 5 } }), oauthError('invalid_grant', 'subject token is not valid yet')],
  ['no exp', (s) => s.githubToken({ extra: { exp: undefined } }), NOT_VALID],
  ['a non-numeric exp', (s) => s.githubToken({ extra: { exp: 'tomorrow' } }), NOT_VALID],
  // Claims.
  ['no sub', (s) => s.githubToken({ extra: { sub: undefined } }), NOT_VALID],
  ['an empty sub', (s) => s.githubToken({ extra: { sub: '' } }), oauthError('invalid_grant', 'subject token has no subject')],
  ['a wrong iss', (s) => s.githubToken({ extra: { iss: 'https://token.actions.githubusercontent.com' } }), UNTRUSTED],
  ['no iss', (s) => s.githubToken({ extra: { iss: undefined } }), UNTRUSTED],
  ['an issuer Tollgate does not trust', (s) => s.issuers.issuers.stranger!.sign(githubActionsClaims(s.issuers.issuers.stranger!.issuer, s.now(), REPO)), UNTRUSTED],
  ['Tollgate itself as issuer', (s) => s.githubToken({ extra: { iss: s.tollgate.baseUrl } }), UNTRUSTED],
  ['a wrong aud (ci)', (s) => s.githubToken({ audience: 'https://github.com/acme' }), oauthError('invalid_grant', 'subject token audience is not accepted')],
  ['no aud (ci)', (s) => s.githubToken({ extra: { aud: undefined } }), oauthError('invalid_grant', 'subject token audience is not accepted')],
  ['an azp that is not allowed (Clerk)', (s) => s.clerkToken({ azp: 'https://evil.example.com' }), oauthError('invalid_grant', 'subject token was issued to a party that is not allowed')],
  ['a pending Clerk session (sts)', (s) => s.clerkToken({ pending: true }), oauthError('invalid_grant', 'the session behind the subject token is pending')],
  ['a token no rule matches', (s) => s.githubToken({ repository: 'evil/app', repositoryId: '666', ownerId: '667' }), NO_RULE],
  ['a Clerk token without the role', (s) => s.clerkToken({ role: 'viewer' }), NO_RULE],
  // Cross-token confusion (RFC 8725 §3.11, §2.8).
  ['a Tollgate access token', async (s) => (await s.session('ci')).access_token, ACCESS_TOKEN],
  ['a Tollgate access token with typ application/at+jwt', async (s) => s.signWithTollgateKey(decodeJwt((await s.session('ci')).access_token), { typ: 'application/at+jwt' }), ACCESS_TOKEN],
  ['a Tollgate access token with typ AT+JWT', async (s) => s.signWithTollgateKey(decodeJwt((await s.session('ci')).access_token), { typ: 'AT+JWT' }), ACCESS_TOKEN],
  ['a Tollgate-signed token with typ JWT (Tollgate is not a trusted issuer)', async (s) => s.signWithTollgateKey(decodeJwt((await s.session('ci')).access_token), { typ: 'JWT' }), UNTRUSTED],
  ['an access token of another Tollgate deployment', async (s) => {
    const answer = await s.other.exchange(await s.githubToken());
    return s.secret(answer.json.access_token);
  }, ACCESS_TOKEN],
  ['a Tollgate refresh token', async (s) => (await s.session('user')).refresh_token, NOT_A_JWT],
];

describe('attacks with subject tokens at POST /token', () => {
  let suite: AttackSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startAttackSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it.each(CASES)('%s: 400 with its fixed body, nothing issued or written', async (_name, make, expected) => {
    const subject = suite.secret(await make(suite));
    const before = await suite.snapshot();

    const answer = await suite.tollgate.exchange(subject);

    expect(answer.status).toBe(400);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual(expected);
    expect(await suite.snapshot()).toEqual(before);
    expect(answer.text).not.toContain(subject);
  });

  it('never fetched a jku, x5u or anything else an attacker’s header named', () => {
    expect(suite.canary.hits).toEqual([]);
  });

  describe('GitHub repositories match by id, never by name', () => {
    it.each([
      ['the repository’s name, another repository and owner id (a recreated or transferred name)', { repository: 'acme/app', repositoryId: '999', ownerId: '998' }, 400, NO_RULE],
      ['the repository’s name and the owner id, another repository id', { repository: 'acme/app', repositoryId: '999', ownerId: '65' }, 200, 'orders:read'],
      ['the immutable sub format naming the right ids while the id claims differ', { repository: 'acme/app', repositoryId: '999', ownerId: '998', immutableSub: true, extra: { sub: 'repo:acme@65/app@74:ref:refs/heads/main' } }, 400, NO_RULE],
      ['the immutable sub format with the right ids', { ...REPO, immutableSub: true }, 200, 'orders:read deploy'],
      ['another name for the same ids (a renamed repository)', { repository: 'acme/renamed', repositoryId: '74', ownerId: '65' }, 200, 'orders:read deploy'],
    ] as const)('%s', async (_name, options, status, expected) => {
      const before = await suite.snapshot();

      const answer = await suite.tollgate.exchange(await suite.githubToken(options));

      expect(answer.status).toBe(status);
      if (status === 200) {
        expect(answer.json.scope).toBe(expected);
        suite.secret(answer.json.access_token);
        suite.secret(answer.json.refresh_token);
      } else {
        expect(answer.json).toEqual(expected);
        expect(await suite.snapshot()).toEqual(before);
      }
    });
  });

  it('logged none of the tokens it sent or received', () => {
    expectNothingLogged(suite);
  });
});
