import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { rawRequest, recordingObservability, startTestUpstream, trustFor, type TestUpstream } from '../services/proxy-harness';

const ALGS = 'algs="ES256 ES384 EdDSA RS256 PS256"';

/** Server nonces (`dpop.nonce`, RFC 9449 §8 at /token and §9 at the proxy), over HTTP against the local server. */
describe('DPoP server nonces', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  const clock = new TestClock();
  let key: DpopTestKey;
  const now = () => Math.floor(clock.now() / 1000);
  const url = (path: string) => `${tollgate.baseUrl}${path}`;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startLocalTollgate({
      port: 0,
      config: {
        trust: trustFor(issuers),
        dpop: { nonce: true, nonceLifetimeSeconds: 120 },
        proxy: { upstreamUrl: upstream.url, routes: [{ methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }] },
      },
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-nonce-')),
      clock,
      observability: recordingObservability(),
    });
    key = await DpopTestKey.generate({ nowSeconds: now });
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  const subject = () => {
    const github = issuers.issuers.github!;
    return github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', ownerId: '65' }));
  };

  async function exchangeWithNonce(): Promise<{ access_token: string; refresh_token: string; nonce: string }> {
    const token = await subject();
    const first = await postForm(url('/token'), { ...EXCHANGE, subject_token: token }, { DPoP: await key.proof({ htm: 'POST', htu: url('/token') }) });
    const nonce = first.headers.get('dpop-nonce')!;
    const second = await postForm(url('/token'), { ...EXCHANGE, subject_token: token }, { DPoP: await key.proof({ htm: 'POST', htu: url('/token'), nonce }) });
    expect(second.status).toBe(200);
    return { ...second.json, nonce: second.headers.get('dpop-nonce')! };
  }

  it('answers a proof without a nonce with use_dpop_nonce and a nonce, without spending the subject token (RFC 9449 §8)', async () => {
    const token = await subject();

    const first = await postForm(url('/token'), { ...EXCHANGE, subject_token: token }, { DPoP: await key.proof({ htm: 'POST', htu: url('/token') }) });

    expect(first.status).toBe(400);
    expect(first.json).toEqual({ error: 'use_dpop_nonce', error_description: 'the DPoP proof must carry the nonce of the DPoP-Nonce header' });
    const nonce = first.headers.get('dpop-nonce')!;
    expect(decodeProtectedHeader(nonce).typ).toBe('tollgate-dpop-nonce+jwt');

    const second = await postForm(url('/token'), { ...EXCHANGE, subject_token: token }, { DPoP: await key.proof({ htm: 'POST', htu: url('/token'), nonce }) });

    expect(second.status).toBe(200);
    expect(second.json.token_type).toBe('DPoP');
    expect(second.headers.get('dpop-nonce')).toEqual(expect.any(String));
  });

  it('leaves exchanges without DPoP alone', async () => {
    const answer = await postForm(url('/token'), { ...EXCHANGE, subject_token: await subject() });

    expect(answer.status).toBe(200);
    expect(answer.json.token_type).toBe('Bearer');
    expect(answer.headers.get('dpop-nonce')).toBeNull();
  });

  it('asks for a fresh nonce once the lifetime has passed', async () => {
    const session = await exchangeWithNonce();
    clock.advance(126);

    const answer = await postForm(
      url('/token'),
      { grant_type: 'refresh_token', refresh_token: session.refresh_token },
      { DPoP: await key.proof({ htm: 'POST', htu: url('/token'), nonce: session.nonce }) },
    );

    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('use_dpop_nonce');
    const fresh = answer.headers.get('dpop-nonce')!;
    expect(fresh).not.toBe(session.nonce);
    const retry = await postForm(
      url('/token'),
      { grant_type: 'refresh_token', refresh_token: session.refresh_token },
      { DPoP: await key.proof({ htm: 'POST', htu: url('/token'), nonce: fresh }) },
    );
    expect(retry.status).toBe(200);
  });

  it('answers a proxy request without a nonce with 401 use_dpop_nonce and a nonce, then serves it with one (RFC 9449 §9)', async () => {
    const session = await exchangeWithNonce();
    const before = upstream.received.length;
    const proof = (nonce?: string) => key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: session.access_token, nonce });

    const refused = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `DPoP ${session.access_token}`, dpop: await proof() } });

    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ error: 'use_dpop_nonce', error_description: 'the DPoP proof must carry the nonce of the DPoP-Nonce header', code: 'DPOP_NONCE_REQUIRED' });
    expect(refused.headers['www-authenticate']).toBe(`DPoP error="use_dpop_nonce", ${ALGS}`);
    const nonce = refused.headers['dpop-nonce'] as string;
    expect(upstream.received.length).toBe(before);

    const served = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `DPoP ${session.access_token}`, dpop: await proof(nonce) } });

    expect(served.status).toBe(200);
    expect(served.headers['dpop-nonce']).toEqual(expect.any(String));
    expect(upstream.received.length).toBe(before + 1);
  });

  it('refuses a nonce of its own format that it did not sign', async () => {
    const session = await exchangeWithNonce();
    const [header, payload] = session.nonce.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;

    const answer = await rawRequest(tollgate.baseUrl, {
      path: '/proxy/orders/1',
      headers: { authorization: `DPoP ${session.access_token}`, dpop: await key.proof({ htm: 'GET', htu: url('/proxy/orders/1'), accessToken: session.access_token, nonce: forged }) },
    });

    expect(answer.json.code).toBe('DPOP_NONCE_REQUIRED');
  });
});
