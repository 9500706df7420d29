import type { LocalTollgate } from '../../src/local/local-tollgate';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { rawRequest, recordingObservability, startProxyTollgate, startTestUpstream, type RawAnswer, type TestUpstream } from '../services/proxy-harness';

const ALGS = 'algs="ES256 ES384 EdDSA RS256 PS256"';
const TOKEN_INVALID = { status: 401, body: { error: 'invalid_token', error_description: 'the access token is not valid', code: 'TOKEN_INVALID' }, challenge: `DPoP error="invalid_token", ${ALGS}` };
const PROOF_INVALID = { status: 401, body: { error: 'invalid_dpop_proof', error_description: 'the DPoP proof is not valid', code: 'DPOP_PROOF_INVALID' }, challenge: `DPoP error="invalid_dpop_proof", ${ALGS}` };
type Expected = typeof TOKEN_INVALID;

/**
 * Hostile DPoP requests at the proxy (RFC 9449 §7, §11), over HTTP against
 * the local server. Each case states the exact status, body and challenge,
 * and checks that the upstream never saw the request.
 */
describe('attacks: DPoP at the proxy', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  const clock = new TestClock();
  let key: DpopTestKey;
  let thief: DpopTestKey;
  let bound: { access_token: string };
  let otherBound: { access_token: string };
  let unbound: { access_token: string };
  const now = () => Math.floor(clock.now() / 1000);
  const url = (path: string) => `${tollgate.baseUrl}${path}`;

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({
      issuers,
      clock,
      observability: recordingObservability(),
      proxy: {
        upstreamUrl: upstream.url,
        sessionCacheSeconds: 0,
        routes: [
          { methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] },
          { methods: ['POST'], path: '/orders/**', scopes: ['orders:write'] },
          { methods: ['GET'], path: '/admin/**', scopes: ['orders:admin'] },
        ],
      },
    });
    key = await DpopTestKey.generate({ nowSeconds: now });
    thief = await DpopTestKey.generate({ nowSeconds: now });
    bound = await exchange(key);
    otherBound = await exchange(thief);
    unbound = await exchange(undefined);
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  async function exchange(with_: DpopTestKey | undefined): Promise<{ access_token: string }> {
    const github = issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', ownerId: '65' }));
    const answer = await postForm(url('/token'), { ...EXCHANGE, subject_token: subject }, with_ ? { DPoP: await with_.proof({ htm: 'POST', htu: url('/token') }) } : {});
    if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
    return answer.json;
  }

  /** A GET /proxy/orders/1 whose Authorization and DPoP headers the case decides. */
  interface Attempt {
    method?: string;
    path?: string;
    headers: Record<string, string | string[]>;
  }

  const goodProof = (token = bound.access_token, path = '/proxy/orders/1', method = 'GET') => key.proof({ htm: method, htu: url(path), accessToken: token });

  const cases: [string, () => Promise<Attempt>, Expected][] = [
    ['a bound token presented as Bearer (RFC 9449 §7.2)', async () => ({ headers: { authorization: `Bearer ${bound.access_token}` } }), TOKEN_INVALID],
    ['a bound token presented as Bearer, with a valid proof', async () => ({ headers: { authorization: `Bearer ${bound.access_token}`, dpop: await goodProof() } }), TOKEN_INVALID],
    ['an unbound token presented as DPoP with a valid proof', async () => ({ headers: { authorization: `DPoP ${unbound.access_token}`, dpop: await goodProof(unbound.access_token) } }), TOKEN_INVALID],
    ['a proof by another key than the token is bound to (a thief with the token and a key of his own)', async () => ({
      headers: { authorization: `DPoP ${bound.access_token}`, dpop: await thief.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: bound.access_token }) },
    }), TOKEN_INVALID],
    ['no DPoP header', async () => ({ headers: { authorization: `DPoP ${bound.access_token}` } }), PROOF_INVALID],
    ['two DPoP headers', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: [await goodProof(), await goodProof()] } }), PROOF_INVALID],
    ['no ath', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1') }) } }), PROOF_INVALID],
    ['the ath of another token (the proof belongs to another request)', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await goodProof(otherBound.access_token) } }), PROOF_INVALID],
    ['a proof for POST on a GET', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await goodProof(bound.access_token, '/proxy/orders/1', 'POST') } }), PROOF_INVALID],
    ['a proof for another path', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await goodProof(bound.access_token, '/proxy/orders/2') } }), PROOF_INVALID],
    ['a proof made for /token, replayed at the proxy', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/token'), accessToken: bound.access_token }) } }), PROOF_INVALID],
    ['a proof naming the upstream URL instead of Tollgate', async () => ({
      headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: `${upstream.url}/orders/1`, accessToken: bound.access_token }) },
    }), PROOF_INVALID],
    ['a stale proof (iat 2 minutes ago)', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: bound.access_token, iat: now() - 120 }) } }), PROOF_INVALID],
    ['a proof made ahead of time (iat in 2 minutes)', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: bound.access_token, iat: now() + 120 }) } }), PROOF_INVALID],
    ['a replayed proof', async () => {
      const proof = await goodProof();
      const first = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `DPoP ${bound.access_token}`, dpop: proof } });
      expect(first.status).toBe(200);
      return { headers: { authorization: `DPoP ${bound.access_token}`, dpop: proof } };
    }, PROOF_INVALID],
    ['a proof signed by another key than its jwk header', async () => ({
      headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: bound.access_token }, {}, thief.privateKey) },
    }), PROOF_INVALID],
    ['a proof with typ JWT', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: bound.access_token }, { typ: 'JWT' }) } }), PROOF_INVALID],
    ['the access token itself as the proof', async () => ({ headers: { authorization: `DPoP ${bound.access_token}`, dpop: bound.access_token } }), PROOF_INVALID],
  ];

  it.each(cases)('refuses %s', async (_name, make, expected) => {
    const attempt = await make();
    const before = upstream.received.length;

    const answer: RawAnswer = await rawRequest(tollgate.baseUrl, { method: attempt.method ?? 'GET', path: attempt.path ?? '/proxy/orders/1', headers: attempt.headers });

    expect(answer.status).toBe(expected.status);
    expect(answer.json).toEqual(expected.body);
    expect(answer.headers['www-authenticate']).toBe(expected.challenge);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(upstream.received.length).toBe(before);
  });

  it('answers an expired bound token with TOKEN_EXPIRED and a DPoP challenge, so the client refreshes', async () => {
    const token = (await exchange(key)).access_token;
    clock.advance(901);
    try {
      const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `DPoP ${token}`, dpop: await goodProof(token) } });

      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: 'invalid_token', error_description: 'the access token has expired', code: 'TOKEN_EXPIRED' });
      expect(answer.headers['www-authenticate']).toBe(`DPoP error="invalid_token", ${ALGS}`);
    } finally {
      clock.advance(-901);
    }
  });

  it('answers a missing scope with a DPoP insufficient_scope challenge (RFC 9449 §7.1)', async () => {
    const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/admin/users', headers: { authorization: `DPoP ${bound.access_token}`, dpop: await goodProof(bound.access_token, '/proxy/admin/users') } });

    expect(answer.status).toBe(403);
    expect(answer.json.code).toBe('INSUFFICIENT_SCOPE');
    expect(answer.headers['www-authenticate']).toBe(`DPoP error="insufficient_scope", scope="orders:admin", ${ALGS}`);
  });
});
