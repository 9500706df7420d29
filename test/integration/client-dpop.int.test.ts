import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { TollgateConfigInput } from '../../src/config/config';
import { createTollgateClient, memoryStorage, type TollgateClientOptions } from '../../src/client';
import { clerkSessionClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { startTestIssuers } from '../support/test-issuer';
import { startTestTollgate } from '../support/tollgate';
import { startTestUpstream } from '../services/proxy-harness';

const APP = 'https://app.example.com';

async function startSuite(clock: TestClock, extra: Partial<TollgateConfigInput> = {}) {
  const issuers = await startTestIssuers(['clerk']);
  const upstream = await startTestUpstream();
  const clerk = issuers.issuers.clerk!;
  const tollgate = await startTestTollgate({
    clock,
    config: {
      trust: [{ name: 'clerk', issuer: clerk.issuer, kind: 'user', authorizedParties: [APP], rules: [{ claims: { sub: 'user_*' }, scopes: ['orders:read', 'orders:write'] }] }],
      proxy: { upstreamUrl: upstream.url, routes: [{ methods: ['GET', 'POST'], path: '/orders/**', scopes: ['orders:read'] }] },
      rateLimit: { requestsPerMinute: 1000 },
      ...extra,
    },
  });
  return {
    tollgate,
    upstream,
    subjectToken: () => clerk.sign(clerkSessionClaims(clerk.issuer, Math.floor(clock.now() / 1000), { azp: APP, sub: `user_${randomBytes(6).toString('hex')}` })),
    async close() {
      await tollgate.close();
      await upstream.close();
      await issuers.close();
    },
  };
}
type Suite = Awaited<ReturnType<typeof startSuite>>;

/** What the client sent: each request's URL and its Authorization scheme and DPoP header. */
function recording() {
  const sent: { url: string; scheme?: string; dpop: string | null; status?: number }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const entry: (typeof sent)[number] = { url: String(input), scheme: headers.get('authorization')?.split(' ')[0], dpop: headers.get('dpop') };
    sent.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    return response;
  };
  return { fetch: fetchImpl, sent };
}

describe('Tollgate client with dpop: true, against the local server', () => {
  const clock = new TestClock();
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite(clock);
  });
  afterAll(async () => {
    await suite?.close();
  });

  function client(options: Partial<TollgateClientOptions> = {}) {
    const record = recording();
    const instance = createTollgateClient({ baseUrl: suite.tollgate.baseUrl, fetch: record.fetch, clock, getSubjectToken: () => suite.subjectToken(), dpop: true, ...options });
    return { client: instance, sent: record.sent };
  }

  it('exchanges with a proof, calls the proxy with the DPoP scheme and a proof, and the upstream sees neither', async () => {
    const { client: tollgate, sent } = client();

    const response = await tollgate.fetch('/orders/42?expand=lines');

    expect(response.status).toBe(200);
    const token = await tollgate.token();
    const jkt = (decodeJwt(token).cnf as { jkt: string }).jkt;
    expect(jkt).toEqual(expect.any(String));
    expect(sent.map(({ url, scheme }) => [new URL(url).pathname, scheme])).toEqual([
      ['/token', undefined],
      ['/proxy/orders/42', 'DPoP'],
    ]);
    for (const { dpop } of sent) expect(decodeProtectedHeader(dpop!)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(decodeJwt(sent[1]!.dpop!)).toMatchObject({ htm: 'GET', htu: `${suite.tollgate.baseUrl}/proxy/orders/42`, ath: expect.any(String) });
    const received = suite.upstream.received.at(-1)!;
    expect(received.url).toBe('/orders/42?expand=lines');
    expect(suite.upstream.header(received, 'dpop')).toEqual([]);
    expect(JSON.stringify(received.headers)).not.toContain(token);
  });

  it('refreshes a bound session with a proof after TOKEN_EXPIRED, and keeps the binding', async () => {
    const clientClock = new TestClock(clock.now());
    const { client: tollgate, sent } = client({ clock: clientClock, refreshMarginSeconds: 0 });
    const first = await tollgate.token();
    // The client's clock lags 41 s (it still believes its token is fresh), within the ±60 s a proof's iat may be off.
    clock.advance(901);
    clientClock.advance(860);

    const response = await tollgate.fetch('/orders', { method: 'POST', body: '{"item":"book"}', headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(200);
    const second = await tollgate.token();
    expect(second).not.toBe(first);
    expect(decodeJwt(second).cnf).toEqual(decodeJwt(first).cnf);
    expect(sent.map(({ url, status }) => [new URL(url).pathname, status])).toEqual([
      ['/token', 200],
      ['/proxy/orders', 401],
      ['/token', 200],
      ['/proxy/orders', 200],
    ]);
    for (const { dpop } of sent) expect(dpop).not.toBeNull();
  });

  it('shares nothing between two clients: their tokens are bound to different keys', async () => {
    const a = client();
    const b = client();

    const [tokenA, tokenB] = [await a.client.token(), await b.client.token()];

    expect(decodeJwt(tokenA).cnf).not.toEqual(decodeJwt(tokenB).cnf);
  });

  it('uses a key pair the app provides (e.g. one kept in IndexedDB), so a shared storage stays usable', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const storage = memoryStorage();
    const first = client({ dpop: pair, storage });
    await first.client.fetch('/orders/1');
    const second = client({ dpop: pair, storage, getSubjectToken: () => Promise.reject(new Error('must not start over')) });

    const response = await second.client.fetch('/orders/2');

    expect(response.status).toBe(200);
    expect(decodeProtectedHeader(second.sent[0]!.dpop!).alg).toBe('EdDSA');
  });

  it('signs with the key the stored tokens came with, so another client sharing the storage (another tab) can use them', async () => {
    const storage = memoryStorage();
    const first = client({ storage });
    await first.client.fetch('/orders/1');
    const other = client({ storage, getSubjectToken: () => Promise.reject(new Error('must not start over')) });

    const response = await other.client.fetch('/orders/3');

    expect(response.status).toBe(200);
    expect(decodeProtectedHeader(other.sent[0]!.dpop!).jwk).toEqual(decodeProtectedHeader(first.sent[0]!.dpop!).jwk);
  });
});

describe('Tollgate client with dpop: true, against a server that wants nonces', () => {
  const clock = new TestClock();
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite(clock, { dpop: { nonce: true } });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('answers use_dpop_nonce at /token and at the proxy once each, and carries the nonce on', async () => {
    const record = recording();
    const tollgate = createTollgateClient({ baseUrl: suite.tollgate.baseUrl, fetch: record.fetch, clock, getSubjectToken: () => suite.subjectToken(), dpop: true });

    const response = await tollgate.fetch('/orders/1');
    const again = await tollgate.fetch('/orders/2');

    expect(response.status).toBe(200);
    expect(again.status).toBe(200);
    expect(record.sent.map(({ url, status }) => [new URL(url).pathname, status])).toEqual([
      ['/token', 400],
      ['/token', 200],
      ['/proxy/orders/1', 200],
      ['/proxy/orders/2', 200],
    ]);
    expect(decodeJwt(record.sent[3]!.dpop!).nonce).toEqual(expect.any(String));
  });
});
