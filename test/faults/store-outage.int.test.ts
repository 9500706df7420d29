import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, STORE_TIMEOUTS } from '../../src/adapters/dynamo-client';
import { githubActionsClaims } from '../../src/local/dev-claims';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { postForm } from '../support/http';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/fault-proxy';
import { snapshotStore } from '../support/store-snapshot';
import { startTestStore, type TestStore } from '../support/store';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { bearer, rawRequest, startProxyTollgate, startTestUpstream, type TestUpstream } from '../services/proxy-harness';

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' };

/**
 * The most a request may take to give up on a broken store: every attempt the
 * SDK makes may wait for the connection and then the request timeout, plus
 * the SDK's backoff before its retry (at most 1 s, for throttling errors) and
 * room for a busy test machine. One bound per request, not per call: an
 * exchange meeting a hanging store makes three calls in a row (the write, the
 * look after its lost answer, the undo; 3 × 2.4 s), which share it. Not a
 * speed assertion: an upper bound that a store timeout left at the SDK's
 * defaults (no request timeout at all), or a request's calls each given a
 * bound of their own, breaks.
 */
const STORE_FAILURE_BOUND_MS = STORE_TIMEOUTS.maxAttempts * (STORE_TIMEOUTS.connectionTimeoutMs + STORE_TIMEOUTS.requestTimeoutMs) + 1_000 + 1_500;

async function timed<T>(act: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await act();
  return { result, ms: performance.now() - started };
}

/**
 * A loopback fault proxy between Tollgate and its DynamoDB-protocol store:
 * the store refuses connections, hangs, resets them or answers garbage.
 */
describe('the store down, hanging or broken', () => {
  let store: TestStore;
  let faults: FaultProxy;
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  let db: DynamoDBDocumentClient;

  const subjectToken = () => {
    const github = issuers.issuers.github!;
    return github.sign(githubActionsClaims(github.issuer, Math.floor(Date.now() / 1000), { repositoryId: '74', ownerId: '65' }));
  };
  const exchange = async (subject?: string) => postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject ?? (await subjectToken()) });
  const refresh = (token: string) => postForm(`${tollgate.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: token });
  const verify = (token: string) => postForm(`${tollgate.baseUrl}/verify`, { token });
  const revoke = (token: string) => postForm(`${tollgate.baseUrl}/revoke`, { token });
  const proxied = (token: string) => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) });

  beforeAll(async () => {
    store = await startTestStore();
    faults = await startFaultProxy(store.endpoint);
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({
      issuers,
      store: { endpoint: faults.endpoint, tables: store.tables },
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-faults-')),
      // Every check reads the store (no session cache), so the outage is seen by every request.
      proxy: { upstreamUrl: upstream.url, routes: [{ methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }], sessionCacheSeconds: 0 },
    });
    db = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterAll(async () => {
    db?.destroy();
    await tollgate?.close();
    await faults?.close();
    await store?.close();
    await upstream?.close();
    await issuers?.close();
  });

  afterEach(async () => {
    faults.failWhen(undefined);
    await faults.setMode('up');
  });

  it.each<[FaultMode]>([['refuse'], ['hang'], ['reset'], ['garbage']])(
    'store %s: /token, /verify, /revoke and the proxy answer 503 within the bound, change nothing, and recover by themselves',
    async (mode) => {
      const session = (await exchange()).json;
      const spare = await subjectToken();
      const before = await snapshotStore(db, store.tables, { withRateLimits: true });
      const forwarded = upstream.received.length;
      await faults.setMode(mode);

      const answers = await Promise.all([
        timed(() => exchange(spare)),
        timed(() => refresh(session.refresh_token)),
        timed(() => verify(session.access_token)),
        timed(() => verify(session.refresh_token)),
        timed(() => revoke(session.refresh_token)),
      ]);
      const proxy = await timed(() => proxied(session.access_token));

      for (const { result, ms } of answers) {
        expect(result.status).toBe(503);
        expect(result.json).toEqual(UNAVAILABLE);
        expect(result.headers.get('retry-after')).toBe('1');
        expect(result.headers.get('cache-control')).toBe('no-store');
        expect(ms).toBeLessThan(STORE_FAILURE_BOUND_MS);
      }
      expect(proxy.result.status).toBe(503);
      expect(proxy.result.json).toEqual({ ...UNAVAILABLE, code: 'STORE_UNAVAILABLE' });
      expect(proxy.result.headers['retry-after']).toBe('1');
      expect(proxy.ms).toBeLessThan(STORE_FAILURE_BOUND_MS);
      expect(upstream.received.length).toBe(forwarded);

      await faults.setMode('up');
      expect(await snapshotStore(db, store.tables, { withRateLimits: true })).toEqual(before);
      // The single-use subject token was not spent, the refresh token not rotated, the session not revoked.
      expect((await exchange(spare)).status).toBe(200);
      expect((await verify(session.access_token)).json.active).toBe(true);
      expect((await proxied(session.access_token)).status).toBe(200);
      const refreshed = await refresh(session.refresh_token);
      expect(refreshed.status).toBe(200);
      expect((await verify(refreshed.json.access_token)).json.active).toBe(true);
    },
  );

  describe('one write failing halfway', () => {
    const sessionsTable = () => store.tables.sessions;
    /** Faults the first `count` calls of `operation` on the sessions table with `mode`. */
    const failFirst = (operation: string, mode: 'hang' | 'lose-answer', count = 1) => {
      let left = count;
      faults.failWhen((call) => (call.operation === operation && call.target === sessionsTable() && left-- > 0 ? mode : undefined));
    };

    it('an exchange whose session write hangs leaves no session and gives the single-use subject token back', async () => {
      const subject = await subjectToken();
      const before = await snapshotStore(db, store.tables);
      failFirst('PutItem', 'hang', STORE_TIMEOUTS.maxAttempts);

      const { result, ms } = await timed(() => exchange(subject));

      expect(result.status).toBe(503);
      expect(result.json).toEqual(UNAVAILABLE);
      expect(ms).toBeLessThan(STORE_FAILURE_BOUND_MS);
      expect(await snapshotStore(db, store.tables)).toEqual(before);
      faults.failWhen(undefined);
      expect((await exchange(subject)).status).toBe(200);
    });

    it('an exchange whose session write landed but whose answer was lost still answers with that session', async () => {
      const before = (await snapshotStore(db, store.tables)).sessions.length;
      failFirst('PutItem', 'lose-answer');

      const answer = await exchange();

      expect(answer.status).toBe(200);
      const after = await snapshotStore(db, store.tables);
      expect(after.sessions).toHaveLength(before + 1);
      expect((await verify(answer.json.access_token)).json.active).toBe(true);
      expect((await refresh(answer.json.refresh_token)).status).toBe(200);
    });

    it('a refresh whose rotation hangs leaves the session as it was, and the same refresh token works afterwards', async () => {
      const session = (await exchange()).json;
      const before = await snapshotStore(db, store.tables);
      failFirst('UpdateItem', 'hang', STORE_TIMEOUTS.maxAttempts);

      const { result, ms } = await timed(() => refresh(session.refresh_token));

      expect(result.status).toBe(503);
      expect(result.json).toEqual(UNAVAILABLE);
      expect(ms).toBeLessThan(STORE_FAILURE_BOUND_MS);
      expect(await snapshotStore(db, store.tables)).toEqual(before);
      faults.failWhen(undefined);
      expect((await refresh(session.refresh_token)).status).toBe(200);
    });

    it('a refresh whose rotation landed but whose answer was lost still hands out the new tokens', async () => {
      const session = (await exchange()).json;
      failFirst('UpdateItem', 'lose-answer');

      const answer = await refresh(session.refresh_token);

      expect(answer.status).toBe(200);
      expect((await refresh(answer.json.refresh_token)).status).toBe(200);
      const sid = JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString()).sid;
      const item = (await snapshotStore(db, store.tables)).sessions.find((candidate) => candidate.sid === sid);
      expect(item).toMatchObject({ status: 'active', refreshCount: 2 });
    });

    it('a revocation whose answer was lost still ends the session', async () => {
      const session = (await exchange()).json;
      failFirst('UpdateItem', 'lose-answer');

      expect((await revoke(session.refresh_token)).status).toBe(200);

      expect((await verify(session.access_token)).json).toEqual({ active: false });
      expect((await proxied(session.access_token)).json.code).toBe('SESSION_ENDED');
    });
  });
});
