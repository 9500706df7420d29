import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startLocalTollgate } from '../../src/local/local-tollgate';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { testObservability, EXCHANGE } from '../support/tollgate';
import { rawRequest } from '../services/proxy-harness';
import { oauthError, sidOf, startTokenSuite, trustConfig, type TokenSuite } from '../integration/token-fixtures';

const INVALID_PROOF = oauthError('invalid_dpop_proof', 'the DPoP proof is not valid');
const PROOF_REQUIRED = oauthError('invalid_dpop_proof', 'a DPoP proof is required');
const WRONG_KEY = oauthError('invalid_dpop_proof', 'the DPoP proof is not signed by the key the session is bound to');

/** An unsigned JWS (`alg: none`), which no verifier may accept. */
function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

/** A JWS signed with WebCrypto directly: jose itself refuses to sign what these cases need (weak keys, unknown `crit`). */
async function signedByHand(header: Record<string, unknown>, payload: Record<string, unknown>, key: CryptoKey, algorithm: AlgorithmIdentifier | EcdsaParams): Promise<string> {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(payload)}`;
  const signature = Buffer.from(await crypto.subtle.sign(algorithm, key, new TextEncoder().encode(input))).toString('base64url');
  return `${input}.${signature}`;
}

/**
 * Hostile DPoP proofs at POST /token (RFC 9449 §4.3, §5, §11), over HTTP
 * against the local server. Each case states the exact answer and checks
 * that nothing was issued: no session, and the single-use CI subject token
 * not spent (it still exchanges with a good proof afterwards).
 */
describe('attacks: DPoP proofs at POST /token', () => {
  let suite: TokenSuite;
  const clock = new TestClock();
  let key: DpopTestKey;
  let tokenUrl: string;

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
    key = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    tokenUrl = `${suite.tollgate.baseUrl}/token`;
  });

  afterAll(async () => {
    await suite?.close();
  });

  const good = () => key.proof({ htm: 'POST', htu: tokenUrl });

  /** Sends the form with these DPoP header values (several as several header lines). */
  function post(parameters: Record<string, string>, dpop: string[]) {
    return rawRequest(suite.tollgate.baseUrl, {
      method: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop.length > 0 ? { DPoP: dpop.length === 1 ? dpop[0]! : dpop } : {}) },
      body: new URLSearchParams(parameters).toString(),
    });
  }

  type ProofMaker = () => Promise<string[]>;
  const cases: [string, ProofMaker][] = [
    ['a replayed proof (its jti was accepted before)', async () => {
      const proof = await good();
      const first = await post({ ...EXCHANGE, subject_token: await suite.githubToken() }, [proof]);
      expect(first.status).toBe(200);
      return [proof];
    }],
    ['an htu naming another host', async () => [await key.proof({ htm: 'POST', htu: 'https://evil.example.com/token' })]],
    ['an htu naming another endpoint', async () => [await key.proof({ htm: 'POST', htu: `${suite.tollgate.baseUrl}/verify` })]],
    ['an htu with another scheme', async () => [await key.proof({ htm: 'POST', htu: tokenUrl.replace('http:', 'https:') })]],
    ['an htu with another port', async () => [await key.proof({ htm: 'POST', htu: tokenUrl.replace(/:(\d+)\//, (_m, port: string) => `:${Number(port) + 1}/`) })]],
    ['no htu', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, extra: { htu: undefined } })]],
    ['an htm of GET', async () => [await key.proof({ htm: 'GET', htu: tokenUrl })]],
    ['an htm in lower case', async () => [await key.proof({ htm: 'post', htu: tokenUrl })]],
    ['an iat 61 s old', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, iat: suite.now() - 61 })]],
    ['an iat 61 s ahead', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, iat: suite.now() + 61 })]],
    ['no iat', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, extra: { iat: undefined } })]],
    ['an exp that has passed', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, extra: { exp: suite.now() - 120 } })]],
    ['no jti', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, extra: { jti: undefined } })]],
    ['a one-character jti', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, jti: 'x' })]],
    ['typ JWT', async () => [await key.proof({ htm: 'POST', htu: tokenUrl }, { typ: 'JWT' })]],
    ['no typ', async () => [await key.proof({ htm: 'POST', htu: tokenUrl }, { typ: undefined })]],
    ['alg none', async () => [unsigned({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }, { jti: crypto.randomUUID(), htm: 'POST', htu: tokenUrl, iat: suite.now() })]],
    ['HS256 with a symmetric jwk', async () => {
      const secret = new TextEncoder().encode('a shared secret that anybody could pick');
      return [await new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: tokenUrl, iat: suite.now() })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } } as never)
        .sign(secret)];
    }],
    ['a private key in the jwk header', async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      const jwk = await exportJWK(pair.privateKey);
      return [await new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: tokenUrl, iat: suite.now() }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk } as never).sign(pair.privateKey)];
    }],
    ['no jwk header', async () => [await key.proof({ htm: 'POST', htu: tokenUrl }, { jwk: undefined })]],
    ['a signature by another key than the jwk header', async () => {
      const other = await generateKeyPair('ES256');
      return [await key.proof({ htm: 'POST', htu: tokenUrl }, {}, other.privateKey)];
    }],
    ['an algorithm Tollgate does not accept (ES512)', async () => [await (await DpopTestKey.generate({ alg: 'ES512', nowSeconds: () => suite.now() })).proof({ htm: 'POST', htu: tokenUrl })]],
    ['an RSA key of 1024 bits', async () => {
      const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) };
      const weak = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
      const jwk = await crypto.subtle.exportKey('jwk', weak.publicKey);
      return [await signedByHand({ alg: 'RS256', typ: 'dpop+jwt', jwk: { kty: jwk.kty, n: jwk.n, e: jwk.e } }, { jti: crypto.randomUUID(), htm: 'POST', htu: tokenUrl, iat: suite.now() }, weak.privateKey, 'RSASSA-PKCS1-v1_5')];
    }],
    ['an unknown crit header', async () => [
      await signedByHand(
        { alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, crit: ['x-tollgate'], 'x-tollgate': 1 },
        { jti: crypto.randomUUID(), htm: 'POST', htu: tokenUrl, iat: suite.now() },
        key.privateKey,
        { name: 'ECDSA', hash: 'SHA-256' },
      ),
    ]],
    ['two DPoP headers (RFC 9449 §4.3 item 1)', async () => [await good(), await good()]],
    ['an empty DPoP header', async () => ['']],
    ['not a JWS', async () => ['not-a-jwt']],
    ['a proof over 8 KiB', async () => [await key.proof({ htm: 'POST', htu: tokenUrl, extra: { padding: 'x'.repeat(8_200) } })]],
  ];

  it.each(cases)('refuses an exchange with %s: 400 invalid_dpop_proof, nothing issued, the subject token not spent', async (_name, make) => {
    const proofs = await make();
    const subject = await suite.githubToken();
    const before = await suite.counts();

    const answer = await post({ ...EXCHANGE, subject_token: subject }, proofs);

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(INVALID_PROOF);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(await suite.counts()).toEqual(before);
    const retry = await post({ ...EXCHANGE, subject_token: subject }, [await good()]);
    expect(retry.status).toBe(200);
  });

  describe('refresh of a bound session', () => {
    async function bound(): Promise<{ access_token: string; refresh_token: string }> {
      const answer = await post({ ...EXCHANGE, subject_token: await suite.clerkToken() }, [await good()]);
      expect(answer.json.token_type).toBe('DPoP');
      return answer.json;
    }

    const refresh = (refreshToken: string, proofs: string[]) => post({ grant_type: 'refresh_token', refresh_token: refreshToken }, proofs);

    it('refuses it without a proof, and rotates nothing (the token still works with the key)', async () => {
      const session = await bound();

      const answer = await refresh(session.refresh_token, []);

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(PROOF_REQUIRED);
      expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'active', refreshCount: 0 });
      expect((await refresh(session.refresh_token, [await good()])).status).toBe(200);
    });

    it('refuses a valid proof by another key (a thief with the refresh token and a key of his own)', async () => {
      const session = await bound();
      const thief = await DpopTestKey.generate({ nowSeconds: () => suite.now() });

      const answer = await refresh(session.refresh_token, [await thief.proof({ htm: 'POST', htu: tokenUrl })]);

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(WRONG_KEY);
      expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'active', refreshCount: 0 });
    });

    it('does not let a thief without the key revoke the session by replaying a rotated refresh token', async () => {
      const session = await bound();
      expect((await refresh(session.refresh_token, [await good()])).status).toBe(200);
      clock.advance(30);

      const answer = await refresh(session.refresh_token, []);

      expect(answer.json).toEqual(PROOF_REQUIRED);
      expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'active', refreshCount: 1 });
    });

    it('still detects reuse of a rotated refresh token presented with the key (RFC 9700 §4.14.2)', async () => {
      const session = await bound();
      expect((await refresh(session.refresh_token, [await good()])).status).toBe(200);
      clock.advance(30);

      const answer = await refresh(session.refresh_token, [await good()]);

      expect(answer.json).toEqual(oauthError('invalid_grant', 'refresh token was already used'));
      expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse' });
    });

    it.each([
      ['a replayed proof', async () => {
        const proof = await good();
        const other = await bound();
        expect((await refresh(other.refresh_token, [proof])).status).toBe(200);
        return proof;
      }],
      ['a proof for GET', async () => key.proof({ htm: 'GET', htu: tokenUrl })],
      ['a stale proof', async () => key.proof({ htm: 'POST', htu: tokenUrl, iat: suite.now() - 120 })],
    ])('refuses it with %s, and rotates nothing', async (_name, make) => {
      const session = await bound();
      const proof = await make();

      const answer = await refresh(session.refresh_token, [proof]);

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(INVALID_PROOF);
      expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'active', refreshCount: 0 });
    });
  });
});

describe('attacks: trust[].dpop.required', () => {
  let suite: TokenSuite;
  const clock = new TestClock();
  let key: DpopTestKey;

  beforeAll(async () => {
    suite = await startTokenSuite({ clock, trust: (trust) => trust.map((entry) => (entry.name === 'github' ? { ...entry, dpop: { required: true } } : entry)) });
    key = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('refuses an exchange without a proof for that issuer, without spending the subject token', async () => {
    const subject = await suite.githubToken();
    const before = await suite.counts();

    const answer = await suite.tollgate.exchange(subject);

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(PROOF_REQUIRED);
    expect(await suite.counts()).toEqual(before);
    const ok = await suite.tollgate.token({ ...EXCHANGE, subject_token: subject }, { DPoP: await key.proof({ htm: 'POST', htu: `${suite.tollgate.baseUrl}/token` }) });
    expect(ok.status).toBe(200);
    expect(ok.json.token_type).toBe('DPoP');
  });

  it('leaves the other issuers free to exchange without a proof', async () => {
    expect((await suite.session('user')).token_type).toBe('Bearer');
  });

  it('gives an unbound session from before the setting no further tokens', async () => {
    // The same store without the setting: an unbound session of that issuer, as it was before the operator turned it on.
    const before = await startLocalTollgate({
      port: 0,
      config: { trust: trustConfig(suite.github, suite.clerk) },
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-dpop-')),
      dynamodbEndpoint: suite.tollgate.storeEndpoint,
      tables: suite.tollgate.tables,
      clock,
      observability: testObservability(),
    });
    let unbound: { access_token: string; refresh_token: string };
    try {
      const answer = await rawRequest(before.baseUrl, {
        method: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...EXCHANGE, subject_token: await suite.githubToken() }).toString(),
      });
      unbound = answer.json;
    } finally {
      await before.close();
    }

    const answer = await suite.tollgate.refresh(unbound.refresh_token);

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_grant', 'the session has ended'));
    expect(await suite.item(sidOf(unbound.access_token))).toMatchObject({ refreshCount: 0 });
  });
});
