import { createPublicKey } from 'node:crypto';
import { CompactEncrypt, SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import { newRefreshToken } from '../../src/domain/refresh-token';
import { TestClock } from '../support/clock';
import { postForm } from '../support/http';
import { oauthError, sidOf, type TokenBody } from '../integration/token-fixtures';
import { bearer } from '../services/proxy-harness';
import { expectNothingLogged, handMadeJwt, PROXY_REFUSALS, startAttackSuite, type AttackSuite, type ProxyRefusal } from './attack-suite';

/**
 * Forged and confused **access tokens**, each presented everywhere Tollgate
 * takes one: `/verify` (RFC 7662: only `{"active": false}`), the proxy (401
 * with the code of docs/proxy.md and an RFC 6750 challenge; the upstream
 * never called), `/revoke` (RFC 7009: 200, and nothing revoked) and the
 * refresh grant (`invalid_grant`). The forgeries are built around real
 * sessions (the victims), which must stay untouched: both tables are read
 * before and after. docs/security.md reproduces this table.
 */

type Make = (s: AttackSuite, victim: TokenBody) => Promise<string>;

const claimsOf = (token: string) => decodeJwt(token) as JWTPayload & Record<string, unknown>;
const tollgateKid = (victim: TokenBody) => decodeProtectedHeader(victim.access_token).kid!;

async function tollgatePublicJwk(s: AttackSuite, kid: string) {
  const { publicJwks } = await s.tollgate.services.signingKeys.load();
  return publicJwks.find((jwk) => jwk.kid === kid)!;
}

/**
 * `revokes`: the token is genuine (signed by Tollgate for the victim's session)
 * and only expired; RFC 7009 §2.1 lets its holder revoke the session with it
 * (`RevocationService`), so that case gets a session of its own and checks
 * that `/revoke` ended it.
 */
type Case = [string, Make, ProxyRefusal, 'revokes'?];

const CASES: Case[] = [
  // Not a Tollgate token at all.
  ['garbage', async () => 'garbage', 'TOKEN_INVALID'],
  ['a JWT-looking string', async () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'TOKEN_INVALID'],
  // Algorithms.
  ...['none', 'None', 'NONE', 'nOnE'].map((alg): Case => [
    `alg ${alg} under Tollgate’s kid`,
    async (_s, victim) => handMadeJwt({ alg, kid: tollgateKid(victim), typ: 'at+jwt' }, claimsOf(victim.access_token)),
    'TOKEN_INVALID',
  ]),
  ['alg none without a kid', async (_s, victim) => handMadeJwt({ alg: 'none', typ: 'at+jwt' }, claimsOf(victim.access_token)), 'TOKEN_INVALID'],
  ['HS256 keyed with Tollgate’s public key (PEM)', async (s, victim) => {
    const pem = createPublicKey({ key: (await tollgatePublicJwk(s, tollgateKid(victim))) as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    return new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'HS256', kid: tollgateKid(victim), typ: 'at+jwt' }).sign(new TextEncoder().encode(pem));
  }, 'TOKEN_INVALID'],
  ['HS256 keyed with Tollgate’s public JWK', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token))
      .setProtectedHeader({ alg: 'HS256', kid: tollgateKid(victim), typ: 'at+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(await tollgatePublicJwk(s, tollgateKid(victim))))),
  'TOKEN_INVALID'],
  ['HS256 keyed with Tollgate’s RSA modulus', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token))
      .setProtectedHeader({ alg: 'HS256', kid: tollgateKid(victim), typ: 'at+jwt' })
      .sign(Buffer.from((await tollgatePublicJwk(s, tollgateKid(victim))).n!, 'base64url')),
  'TOKEN_INVALID'],
  // Keys.
  ['an unknown kid', async (_s, victim) => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', kid: 'made-up', typ: 'at+jwt' }).sign(privateKey);
  }, 'TOKEN_INVALID'],
  ['no kid', async (s, victim) => new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).sign(s.canary.privateKey), 'TOKEN_INVALID'],
  ['another key under Tollgate’s kid', async (_s, victim) => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT(claimsOf(victim.access_token)).setProtectedHeader(decodeProtectedHeader(victim.access_token) as never).sign(privateKey);
  }, 'TOKEN_INVALID'],
  ['a jku header pointing at the attacker’s JWKS (never fetched)', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', kid: 'attacker', typ: 'at+jwt', jku: `${s.canary.url}/jwks.json` }).sign(s.canary.privateKey),
  'TOKEN_INVALID'],
  ['a jku header and Tollgate’s kid', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', kid: tollgateKid(victim), typ: 'at+jwt', jku: `${s.canary.url}/jwks.json` }).sign(s.canary.privateKey),
  'TOKEN_INVALID'],
  ['an x5u header (never fetched)', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', kid: 'attacker', typ: 'at+jwt', x5u: `${s.canary.url}/cert.pem` }).sign(s.canary.privateKey),
  'TOKEN_INVALID'],
  ['an embedded jwk header (the attacker’s key)', async (s, victim) =>
    new SignJWT(claimsOf(victim.access_token)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jwk: s.canary.publicJwk }).sign(s.canary.privateKey),
  'TOKEN_INVALID'],
  ['signed by a trusted issuer’s key (GitHub’s kid)', async (s, victim) => s.github.sign(claimsOf(victim.access_token), { typ: 'at+jwt' }), 'TOKEN_INVALID'],
  ['signed by a trusted issuer’s key under Tollgate’s kid', async (s, victim) => s.github.sign(claimsOf(victim.access_token), { typ: 'at+jwt', kid: tollgateKid(victim) }), 'TOKEN_INVALID'],
  ['a tampered payload (wider scope)', async (_s, victim) => {
    const [header, , signature] = victim.access_token.split('.');
    return `${header}.${Buffer.from(JSON.stringify({ ...claimsOf(victim.access_token), scope: 'orders:admin' })).toString('base64url')}.${signature}`;
  }, 'TOKEN_INVALID'],
  ['Tollgate’s key with an unknown crit extension', async (s, victim) => {
    const { current } = await s.tollgate.services.signingKeys.load();
    return new SignJWT(claimsOf(victim.access_token))
      .setProtectedHeader({ alg: current.alg, kid: current.kid, typ: 'at+jwt', crit: ['urn:example:bound'], 'urn:example:bound': true } as never)
      .sign(current.key, { crit: { 'urn:example:bound': true } });
  }, 'TOKEN_INVALID'],
  ['a JWE encrypted to Tollgate’s public key', async (s, victim) => {
    const key = await importJWK({ ...(await tollgatePublicJwk(s, tollgateKid(victim))), alg: 'RSA-OAEP-256', use: 'enc' }, 'RSA-OAEP-256');
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claimsOf(victim.access_token))))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: tollgateKid(victim), typ: 'at+jwt' })
      .encrypt(key);
  }, 'TOKEN_INVALID'],
  // Claims, signed with Tollgate's own key (what only Tollgate can do: these check the verifier, not the forger).
  ['Tollgate’s key, expired', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), iat: s.now() - 1_000, exp: s.now() - 1 }), 'TOKEN_EXPIRED', 'revokes'],
  ['Tollgate’s key, nbf in the future', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), nbf: s.now() + 600 }), 'TOKEN_INVALID'],
  ['Tollgate’s key, no exp', async (s, victim) => {
    const { exp: _exp, ...claims } = claimsOf(victim.access_token);
    return s.signWithTollgateKey(claims);
  }, 'TOKEN_INVALID'],
  ['Tollgate’s key, iat in the future', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), iat: s.now() + 60, exp: s.now() + 960 }), 'TOKEN_INVALID'],
  ['Tollgate’s key, another issuer', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), iss: 'https://other.example.com' }), 'TOKEN_INVALID'],
  ['Tollgate’s key, another audience', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), aud: 'orders-api' }), 'TOKEN_INVALID'],
  ['Tollgate’s key, no audience', async (s, victim) => {
    const { aud: _aud, ...claims } = claimsOf(victim.access_token);
    return s.signWithTollgateKey(claims);
  }, 'TOKEN_INVALID'],
  ['Tollgate’s key, no sid', async (s, victim) => {
    const { sid: _sid, ...claims } = claimsOf(victim.access_token);
    return s.signWithTollgateKey(claims);
  }, 'TOKEN_INVALID'],
  ['Tollgate’s key, no kind', async (s, victim) => {
    const { kind: _kind, ...claims } = claimsOf(victim.access_token);
    return s.signWithTollgateKey(claims);
  }, 'TOKEN_INVALID'],
  ['Tollgate’s key, a sid with no session', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), sid: 'AAAAAAAAAAAAAAAAAAAAAA' }), 'SESSION_ENDED'],
  ['Tollgate’s key, another subject than the session’s', async (s, victim) => s.signWithTollgateKey({ ...claimsOf(victim.access_token), sub: 'clerk:user_999' }), 'SESSION_ENDED'],
  // Cross-token confusion (RFC 8725 §3.11: typ must be at+jwt; RFC 9068 §4).
  ['a subject token (a GitHub OIDC token)', async (s) => s.githubToken(), 'TOKEN_INVALID'],
  ['a Clerk session token', async (s) => s.clerkToken(), 'TOKEN_INVALID'],
  ['Tollgate’s key, typ JWT instead of at+jwt', async (s, victim) => s.signWithTollgateKey(claimsOf(victim.access_token), { typ: 'JWT' }), 'TOKEN_INVALID'],
  ['Tollgate’s key, no typ', async (s, victim) => s.signWithTollgateKey(claimsOf(victim.access_token), { typ: undefined }), 'TOKEN_INVALID'],
  ['Tollgate’s key, an OpenID id token (typ JWT, nonce, auth_time)', async (s, victim) =>
    s.signWithTollgateKey({ ...claimsOf(victim.access_token), aud: 'web-app', nonce: 'n-0S6_WzA2Mj', auth_time: s.now() }, { typ: 'JWT' }),
  'TOKEN_INVALID'],
  ['an access token of another Tollgate deployment', async (s) => {
    const answer = await s.other.exchange(await s.githubToken());
    return s.secret(answer.json.access_token);
  }, 'TOKEN_INVALID'],
  ['a refresh token with a forged secret', async (_s, victim) => newRefreshToken(sidOf(victim.access_token)).token, 'TOKEN_INVALID'],
  ['a refresh token for no session', async () => newRefreshToken('AAAAAAAAAAAAAAAAAAAAAA').token, 'TOKEN_INVALID'],
  ['a malformed refresh token', async () => 'tgr_abc', 'TOKEN_INVALID'],
];

describe('attacks with access tokens at /verify, the proxy, /revoke and the refresh grant', () => {
  let suite: AttackSuite;
  const clock = new TestClock();
  /** Real sessions the forgeries borrow claims from; they must survive every case. */
  let victims: { ci: TokenBody; user: TokenBody };

  beforeAll(async () => {
    suite = await startAttackSuite({ clock });
    victims = { ci: await suite.session('ci'), user: await suite.session('user') };
  });

  afterAll(async () => {
    await suite?.close();
  });

  describe.each(['ci', 'user'] as const)('forged from a %s session', (kind) => {
    it.each(CASES.map(([name, make, refusal, revokes]) => [name, refusal, make, revokes] as const))('%s: inactive at /verify, %s at the proxy, nothing revoked, no refresh', async (_name, refusal, make, revokes) => {
      const victim = revokes ? await suite.session(kind) : victims[kind];
      const token = suite.secret(await make(suite, victim));
      const before = await suite.snapshot();
      const forwarded = suite.upstream.received.length;

      const verified = await suite.tollgate.verify(token);
      const proxied = await suite.proxy({ path: '/proxy/orders/1', headers: bearer(token) });
      const revoked = await suite.tollgate.revoke(token);
      const refreshed = await suite.tollgate.refresh(token);

      expect(verified.status).toBe(200);
      expect(verified.headers.get('cache-control')).toBe('no-store');
      expect(verified.json).toEqual({ active: false });
      const expected = PROXY_REFUSALS[refusal];
      expect(proxied.status).toBe(expected.status);
      expect(proxied.json).toEqual(expected.body);
      expect(proxied.headers['www-authenticate']).toBe(expected.challenge);
      expect(proxied.headers['cache-control']).toBe('no-store');
      expect(suite.upstream.received.length).toBe(forwarded);
      expect(revoked.status).toBe(200);
      expect(revoked.text).toBe('');
      expect(refreshed.status).toBe(400);
      expect(refreshed.json).toEqual(oauthError('invalid_grant', 'refresh token is invalid'));
      if (revokes) {
        expect(await suite.item(sidOf(victim.access_token))).toMatchObject({ status: 'revoked', endReason: 'revoked' });
        return;
      }
      expect(await suite.snapshot()).toEqual(before);
      expect((await suite.tollgate.verify(victim.access_token)).json.active).toBe(true);
    });
  });

  describe('tokens in the wrong place', () => {
    it('a refresh token as a bearer token: TOKEN_INVALID at the proxy, the session untouched', async () => {
      const before = await suite.snapshot();

      const proxied = await suite.proxy({ path: '/proxy/orders/1', headers: bearer(victims.user.refresh_token) });

      expect(proxied.status).toBe(401);
      expect(proxied.json).toEqual(PROXY_REFUSALS.TOKEN_INVALID.body);
      expect(await suite.snapshot()).toEqual(before);
    });

    it('a valid access token as a refresh token: invalid_grant, the session untouched', async () => {
      const before = await suite.snapshot();

      const refreshed = await suite.tollgate.refresh(victims.user.access_token);

      expect(refreshed.json).toEqual(oauthError('invalid_grant', 'refresh token is invalid'));
      expect(await suite.snapshot()).toEqual(before);
    });

    it.each([
      ['in the query string (RFC 6750 §2.3 is not supported)', (token: string) => ({ path: `/proxy/orders/1?access_token=${token}` })],
      ['in a form body (RFC 6750 §2.2 is not supported)', (token: string) => ({
        method: 'POST',
        path: '/proxy/orders/1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `access_token=${token}`,
      })],
      ['under another scheme', (token: string) => ({ path: '/proxy/orders/1', headers: { authorization: `Token ${token}` } })],
    ])('a valid access token %s: AUTH_REQUIRED, never forwarded', async (_name, build) => {
      const forwarded = suite.upstream.received.length;

      const proxied = await suite.proxy(build(victims.user.access_token));

      expect(proxied.status).toBe(401);
      expect(proxied.json).toEqual(PROXY_REFUSALS.AUTH_REQUIRED.body);
      expect(proxied.headers['www-authenticate']).toBe(PROXY_REFUSALS.AUTH_REQUIRED.challenge);
      expect(suite.upstream.received.length).toBe(forwarded);
    });

    it('two Authorization headers, one of them valid: TOKEN_INVALID, never forwarded', async () => {
      const forwarded = suite.upstream.received.length;

      const proxied = await suite.proxy({ path: '/proxy/orders/1', headers: { authorization: [`Bearer ${victims.user.access_token}`, 'Bearer garbage'] } });

      expect(proxied.json).toEqual(PROXY_REFUSALS.TOKEN_INVALID.body);
      expect(suite.upstream.received.length).toBe(forwarded);
    });
  });

  it('never fetched a jku, x5u or anything else an attacker’s header named', () => {
    expect(suite.canary.hits).toEqual([]);
  });

  it('logged none of the tokens it sent or received', async () => {
    // The victims' own tokens were presented too (/verify above); a refused proxy request logs its code, never the token.
    await postForm(`${suite.tollgate.baseUrl}/verify`, { token: victims.ci.access_token });
    expectNothingLogged(suite);
  });
});
