import { randomBytes } from 'node:crypto';
import type { TollgateConfigInput } from '../../src/config/config';
import { createTollgateClient, isTollgateError, memoryStorage, TollgateError, type TollgateClientOptions } from '../../src/client';
import { clerkSessionClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { startTestIssuers } from '../support/test-issuer';
import { startTestTollgate } from '../support/tollgate';
import { startTestUpstream } from '../services/proxy-harness';

const APP = 'https://app.example.com';

/** A real upstream, Clerk-like issuer and local Tollgate with the proxy in front of the upstream. */
async function startProxySuite(clock: TestClock, extra: Partial<TollgateConfigInput> = {}, ownStore = false) {
  const issuers = await startTestIssuers(['clerk']);
  const upstream = await startTestUpstream();
  const clerk = issuers.issuers.clerk!;
  const tollgate = await startTestTollgate({
    clock,
    ownStore,
    config: {
      trust: [
        {
          name: 'clerk',
          issuer: clerk.issuer,
          kind: 'user',
          authorizedParties: [APP],
          rules: [
            { claims: { sub: 'user_*' }, scopes: ['orders:read'] },
            { claims: { 'metadata.role': 'api-client' }, scopes: ['orders:write'] },
          ],
        },
      ],
      proxy: {
        upstreamUrl: upstream.url,
        // Every read sees the store: a revocation bites at once.
        sessionCacheSeconds: 0,
        routes: [
          { methods: ['GET', 'PUT', 'DELETE'], path: '/orders/**', scopes: ['orders:read'] },
          { methods: ['POST'], path: '/orders', scopes: ['orders:write'] },
          { methods: ['GET'], path: '/admin/**', scopes: ['orders:admin'] },
        ],
      },
      ...extra,
    },
  });
  return {
    tollgate,
    upstream,
    clerk,
    subjectToken: (sub: string, role?: string) => clerk.sign(clerkSessionClaims(clerk.issuer, Math.floor(clock.now() / 1000), { azp: APP, sub, role })),
    async close() {
      await tollgate.close();
      await upstream.close();
      await issuers.close();
    },
  };
}
type ProxySuite = Awaited<ReturnType<typeof startProxySuite>>;

/** Counts what the client sends: /token grants and proxy calls. */
function counting() {
  const grants: string[] = [];
  let proxyCalls = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input);
    if (url.endsWith('/token')) grants.push(new URLSearchParams(String(init?.body)).get('grant_type') ?? '');
    if (url.includes('/proxy/')) proxyCalls++;
    return fetch(input, init);
  };
  return { fetch: fetchImpl, grants, refreshes: () => grants.filter((g) => g === 'refresh_token').length, proxyCalls: () => proxyCalls };
}

describe('Tollgate client: proxy calls against the local server', () => {
  const serverClock = new TestClock();
  let suite: ProxySuite;

  beforeAll(async () => {
    suite = await startProxySuite(serverClock, { rateLimit: { requestsPerMinute: 1000 } });
  });
  afterAll(async () => {
    await suite?.close();
  });

  function client(options: Partial<TollgateClientOptions> & { sub?: string; role?: string } = {}) {
    const count = counting();
    const sub = options.sub ?? `user_${randomBytes(6).toString('hex')}`;
    let subjectTokens = 0;
    const instance = createTollgateClient({
      baseUrl: suite.tollgate.baseUrl,
      fetch: count.fetch,
      clock: serverClock,
      getSubjectToken: () => {
        subjectTokens++;
        return suite.subjectToken(sub, options.role ?? 'api-client');
      },
      ...options,
    });
    return { client: instance, count, subjectTokens: () => subjectTokens };
  }

  it('calls the upstream through the proxy with its own token, never the Tollgate token', async () => {
    const { client: tollgate, count } = client();

    const response = await tollgate.fetch('/orders/42?expand=lines');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const received = suite.upstream.received.at(-1)!;
    expect(received).toMatchObject({ method: 'GET', url: '/orders/42?expand=lines' });
    expect(suite.upstream.header(received, 'authorization').join()).not.toContain(await tollgate.token());
    expect(count.grants).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange']);
  });

  it("returns the upstream's own error answers as responses, not exceptions", async () => {
    const { client: tollgate } = client();
    suite.upstream.behave((_request, response) => response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NOT_FOUND"}'));
    try {
      const response = await tollgate.fetch('/orders/404');
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ code: 'NOT_FOUND' });
    } finally {
      suite.upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    }
  });

  it('after a 401 TOKEN_EXPIRED refreshes once and sends the call again, body included', async () => {
    const clientClock = new TestClock(serverClock.now());
    const { client: tollgate, count } = client({ clock: clientClock });
    await tollgate.token();
    serverClock.advance(901); // the client's clock lags: it still believes its token is fresh

    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"item":"book"}'));
        controller.close();
      },
    });
    const response = await tollgate.fetch('/orders', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);

    expect(response.status).toBe(200);
    expect(count.refreshes()).toBe(1);
    expect(count.proxyCalls()).toBe(2);
    expect(suite.upstream.received.at(-1)!.body.toString()).toBe('{"item":"book"}');
  });

  it('100 concurrent calls refused with TOKEN_EXPIRED cause exactly one refresh', async () => {
    const clientClock = new TestClock(serverClock.now());
    const { client: tollgate, count } = client({ clock: clientClock });
    await tollgate.token();
    serverClock.advance(901);

    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => tollgate.fetch(`/orders/${i}`)));

    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(count.refreshes()).toBe(1);
  });

  it('refreshes before expiry (within the margin) without a refused call', async () => {
    const { client: tollgate, count } = client({ refreshMarginSeconds: 120 });
    await tollgate.fetch('/orders/1');
    serverClock.advance(900 - 119);

    await tollgate.fetch('/orders/2');

    expect(count.refreshes()).toBe(1);
    expect(count.proxyCalls()).toBe(2);
  });

  it('starts over with a fresh subject token once when the proxy says SESSION_ENDED', async () => {
    const storage = memoryStorage();
    const { client: tollgate, count, subjectTokens } = client({ storage });
    await tollgate.fetch('/orders/1');
    await suite.tollgate.revoke((await storage.load())!.refreshToken!);

    const response = await tollgate.fetch('/orders/2');

    expect(response.status).toBe(200);
    expect(subjectTokens()).toBe(2);
    expect(count.grants).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:token-exchange']);
  });

  it('surfaces SUBJECT_TOKEN_UNAVAILABLE when the session ended and the user signed out meanwhile', async () => {
    const storage = memoryStorage();
    let signedIn = true;
    const sub = `user_${randomBytes(6).toString('hex')}`;
    const { client: tollgate } = client({ storage, getSubjectToken: async () => (signedIn ? suite.subjectToken(sub, 'api-client') : null) });
    await tollgate.fetch('/orders/1');
    await suite.tollgate.revoke((await storage.load())!.refreshToken!);
    signedIn = false;

    await expect(tollgate.fetch('/orders/2')).rejects.toMatchObject({ code: 'SUBJECT_TOKEN_UNAVAILABLE' });
  });

  it.each([
    ['INSUFFICIENT_SCOPE', '/admin/users', 403, 'the access token lacks a scope this route requires'],
    ['ROUTE_NOT_ALLOWED', '/billing', 403, 'no proxy route allows this request'],
  ])('throws a typed %s with the status and description of the proxy', async (code, path, status, description) => {
    const { client: tollgate } = client();

    const error = await tollgate.fetch(path).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TollgateError);
    expect(error).toMatchObject({ code, status, description, endpoint: 'proxy' });
  });

  it("honours the upstream's 503 Retry-After for GET, with bounded retries", async () => {
    const waits: number[] = [];
    const { client: tollgate, count } = client({ retry: { maxRetries: 2, random: () => 0, sleep: async (ms) => void waits.push(ms) } });
    let failures = 2;
    suite.upstream.behave((_request, response) => {
      if (failures-- > 0) response.writeHead(503, { 'retry-after': '2', 'content-type': 'text/plain' }).end('busy');
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    try {
      const response = await tollgate.fetch('/orders/7');
      expect(response.status).toBe(200);
      expect(waits).toEqual([2000, 2000]);
      expect(count.proxyCalls()).toBe(3);
    } finally {
      suite.upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    }
  });

  it("returns the upstream's last 503 once the retries are spent, and never retries a POST", async () => {
    const waits: number[] = [];
    const { client: tollgate, count } = client({ retry: { maxRetries: 1, random: () => 0, sleep: async (ms) => void waits.push(ms) } });
    suite.upstream.behave((_request, response) => response.writeHead(503, { 'retry-after': '1' }).end('busy'));
    try {
      expect((await tollgate.fetch('/orders/7')).status).toBe(503);
      expect((await tollgate.fetch('/orders', { method: 'POST', body: '{}' })).status).toBe(503);
      expect(waits).toEqual([1000]);
      expect(count.proxyCalls()).toBe(3);
    } finally {
      suite.upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    }
  });
});

describe('Tollgate client: rate limits and outages at the proxy', () => {
  const clock = new TestClock();
  let suite: ProxySuite;

  beforeAll(async () => {
    suite = await startProxySuite(clock, { rateLimit: { requestsPerMinute: 2 } }, true); // this suite stops its store
  });
  afterAll(async () => {
    await suite?.close();
  });

  function client(waits: number[], maxDelayMs = 120_000) {
    const sub = `user_${randomBytes(6).toString('hex')}`;
    return createTollgateClient({
      baseUrl: suite.tollgate.baseUrl,
      clock,
      getSubjectToken: () => suite.subjectToken(sub, 'api-client'),
      // Waiting moves the shared clock, so the rate-limit window really passes.
      retry: { maxDelayMs, random: () => 0, sleep: async (ms) => {
        waits.push(ms);
        clock.advance(ms / 1000);
      } },
    });
  }

  it('waits out RATE_LIMITED for a GET as Retry-After says, then succeeds', async () => {
    const waits: number[] = [];
    const tollgate = client(waits);
    await tollgate.fetch('/orders/1');
    await tollgate.fetch('/orders/2');

    const third = await tollgate.fetch('/orders/3');

    expect(third.status).toBe(200);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry a rate-limited POST: RATE_LIMITED with retryAfterSeconds', async () => {
    const waits: number[] = [];
    const tollgate = client(waits);
    await tollgate.fetch('/orders/1');
    await tollgate.fetch('/orders/2');

    const error = await tollgate.fetch('/orders', { method: 'POST', body: '{}' }).catch((caught: unknown) => caught);

    expect(isTollgateError(error, 'RATE_LIMITED')).toBe(true);
    expect(error).toMatchObject({ status: 429, endpoint: 'proxy' });
    expect((error as TollgateError).retryAfterSeconds).toBeGreaterThan(0);
    expect(waits).toEqual([]);
  });

  it('gives up at once when Retry-After is beyond maxDelayMs', async () => {
    const waits: number[] = [];
    const tollgate = client(waits, 500);
    await tollgate.fetch('/orders/1');
    await tollgate.fetch('/orders/2');

    await expect(tollgate.fetch('/orders/3')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(waits).toEqual([]);
  });

  it('retries a GET through STORE_UNAVAILABLE (503) a bounded number of times, then throws it', async () => {
    const waits: number[] = [];
    const tollgate = client(waits);
    await tollgate.token();
    await suite.tollgate.store.close();

    const error = await tollgate.fetch('/orders/1').catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, endpoint: 'proxy' });
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms >= 1000)).toBe(true);
  });
});
