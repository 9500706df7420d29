import { createTollgateClient, isTollgateError, memoryStorage, TollgateError, type TokenStorage } from '../../src/client';
import { TestClock } from '../support/clock';
import { startTokenSuite, type TokenSuite } from './token-fixtures';

/** A fetch that counts the grants posted to /token (the real server answers them). */
function countingFetch() {
  const grants: string[] = [];
  const calls = { grants, exchanges: () => grants.filter((g) => g.endsWith('token-exchange')).length, refreshes: () => grants.filter((g) => g === 'refresh_token').length };
  const wrapped: typeof fetch = async (input, init) => {
    const url = String(input);
    if (url.endsWith('/token')) grants.push(new URLSearchParams(String(init?.body)).get('grant_type') ?? '');
    return fetch(input, init);
  };
  return { fetch: wrapped, calls };
}

/** A mutex standing in for `navigator.locks.request` between two clients sharing a storage. */
function lockedStorage(): TokenStorage {
  const inner = memoryStorage();
  let tail: Promise<unknown> = Promise.resolve();
  return {
    load: inner.load,
    save: inner.save,
    lock<T>(task: () => Promise<T>): Promise<T> {
      const run = tail.then(task, task);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

describe('Tollgate client: tokens against the local server', () => {
  const clock = new TestClock();
  let suite: TokenSuite;

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
  });
  afterAll(async () => {
    await suite?.close();
  });

  function userClient(overrides: { getSubjectToken?: () => Promise<string | undefined>; storage?: TokenStorage; scope?: string } = {}) {
    const counting = countingFetch();
    let subjectTokens = 0;
    const client = createTollgateClient({
      baseUrl: suite.tollgate.baseUrl,
      fetch: counting.fetch,
      clock,
      storage: overrides.storage,
      scope: overrides.scope,
      getSubjectToken:
        overrides.getSubjectToken ??
        (() => {
          subjectTokens++;
          return suite.clerkToken();
        }),
    });
    return { client, calls: counting.calls, subjectTokens: () => subjectTokens };
  }

  it('exchanges on first use and reuses the token while it is fresh', async () => {
    const { client, calls } = userClient();

    const first = await client.token();
    const second = await client.token();

    expect(second).toBe(first);
    expect(calls.grants).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange']);
    expect((await suite.tollgate.verify(first)).json).toMatchObject({ active: true, kind: 'user', scope: 'orders:read orders:write' });
  });

  it('refreshes within the margin before expiry, rotating the refresh token', async () => {
    const storage = memoryStorage();
    const { client, calls, subjectTokens } = userClient({ storage });
    const first = await client.token();
    const firstRefresh = (await storage.load())!.refreshToken;

    clock.advance(900 - 59);
    const renewed = await client.token();

    expect(renewed).not.toBe(first);
    expect(calls.refreshes()).toBe(1);
    expect(subjectTokens()).toBe(1);
    expect((await storage.load())!.refreshToken).not.toBe(firstRefresh);
    expect((await suite.tollgate.verify(renewed)).json.active).toBe(true);
  });

  it('sends exactly one refresh request for 100 concurrent calls during expiry', async () => {
    const { client, calls } = userClient();
    const first = await client.token();
    clock.advance(901);

    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.token()));

    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
    expect(calls.refreshes()).toBe(1);
    expect(calls.grants).toHaveLength(2);
  });

  it('shares a failed renewal with every waiter', async () => {
    let subjectCalls = 0;
    const storage = memoryStorage();
    const { client, calls } = userClient({
      storage,
      getSubjectToken: async () => (++subjectCalls === 1 ? suite.clerkToken() : suite.clerk.signWithUnpublishedKey({ sub: 'user_1' })),
    });
    await client.token();
    await suite.tollgate.revoke((await storage.load())!.refreshToken!); // the session ends behind the client's back
    clock.advance(901);

    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => client.token()));

    const reasons = new Set(outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : 'fulfilled')));
    expect(reasons.size).toBe(1);
    const [reason] = reasons;
    expect(reason).toBeInstanceOf(TollgateError);
    expect(reason).toMatchObject({ code: 'invalid_grant', endpoint: 'token', status: 400 });
    // One refresh (refused: session ended), one start-over exchange (refused: bad subject token), nothing more.
    expect(calls.grants).toEqual([
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(subjectCalls).toBe(2);
  });

  it('starts over with a fresh subject token once when refresh says the session has ended', async () => {
    const storage = memoryStorage();
    const { client, calls, subjectTokens } = userClient({ storage });
    const first = await client.token();
    await suite.tollgate.revoke((await storage.load())!.refreshToken!);
    clock.advance(901);

    const next = await client.token();

    expect(next).not.toBe(first);
    expect(calls.grants).toEqual([
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(subjectTokens()).toBe(2);
    expect((await suite.tollgate.verify(next)).json.active).toBe(true);
  });

  it('revoke() ends the session at Tollgate and forgets the tokens', async () => {
    const storage = memoryStorage();
    const { client, calls } = userClient({ storage });
    const token = await client.token();

    await client.revoke();

    expect((await suite.tollgate.verify(token)).json).toEqual({ active: false });
    expect(await storage.load()).toBeUndefined();
    await client.token();
    expect(calls.exchanges()).toBe(2);
  });

  it('revoke() without a session sends nothing', async () => {
    const { client, calls } = userClient();
    await client.revoke();
    expect(calls.grants).toHaveLength(0);
  });

  it('surfaces the server code of a refused exchange as a typed error', async () => {
    const { client } = userClient({ scope: 'orders:admin' });

    const error = await client.token().catch((caught: unknown) => caught);

    expect(isTollgateError(error, 'invalid_scope')).toBe(true);
    expect(error).toMatchObject({ status: 400, description: 'the requested scope exceeds what was granted', endpoint: 'token' });
  });

  it('says SUBJECT_TOKEN_UNAVAILABLE when there is no subject token to exchange', async () => {
    const { client, calls } = userClient({ getSubjectToken: async () => undefined });

    await expect(client.token()).rejects.toMatchObject({ code: 'SUBJECT_TOKEN_UNAVAILABLE', endpoint: 'subject', status: 0 });
    expect(calls.grants).toHaveLength(0);
  });

  it('says NETWORK_ERROR when Tollgate cannot be reached', async () => {
    const client = createTollgateClient({ baseUrl: 'http://127.0.0.1:9', clock, getSubjectToken: () => 'x.y.z' });
    await expect(client.token()).rejects.toMatchObject({ code: 'NETWORK_ERROR', endpoint: 'token' });
  });

  it('uses a session another holder of the same storage renewed, without a request of its own', async () => {
    const storage = memoryStorage();
    const a = userClient({ storage });
    const b = userClient({ storage });
    await a.client.token();
    clock.advance(901);

    const renewedByA = await a.client.token();
    const seenByB = await b.client.token();

    expect(seenByB).toBe(renewedByA);
    expect(b.calls.grants).toHaveLength(0);
  });

  it('with a storage lock, two holders renewing at once send one refresh between them', async () => {
    const storage = lockedStorage();
    const a = userClient({ storage });
    const b = userClient({ storage });
    await a.client.token();
    clock.advance(901);

    const [fromA, fromB] = await Promise.all([a.client.token(), b.client.token()]);

    expect(fromA).toBe(fromB);
    expect(a.calls.refreshes() + b.calls.refreshes()).toBe(1);
    expect(a.calls.exchanges() + b.calls.exchanges()).toBe(1);
  });
});

describe('Tollgate client: when the store is down', () => {
  const clock = new TestClock();
  let suite: TokenSuite;

  beforeAll(async () => {
    suite = await startTokenSuite({ clock, ownStore: true }); // this suite stops its store
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('honours Retry-After at /token with bounded retries, keeps a still-valid token, then shares the 503', async () => {
    const counting = countingFetch();
    const waits: number[] = [];
    const client = createTollgateClient({
      baseUrl: suite.tollgate.baseUrl,
      fetch: counting.fetch,
      clock,
      getSubjectToken: () => suite.clerkToken(),
      retry: { maxRetries: 2, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
    });
    const first = await client.token();
    await suite.tollgate.store.close();

    // Inside the margin: the refresh fails, the current token still has a minute left.
    clock.advance(900 - 59);
    expect(await client.token()).toBe(first);
    expect(counting.calls.refreshes()).toBe(3);
    expect(waits).toEqual([1100, 1100]); // Retry-After: 1, plus jitter, never less

    // Past expiry: every waiter gets the one failure; one refresh attempt and its retries.
    clock.advance(60);
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => client.token()));
    const reasons = new Set(outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : 'fulfilled')));
    expect(reasons.size).toBe(1);
    expect([...reasons][0]).toMatchObject({ code: 'temporarily_unavailable', status: 503, retryAfterSeconds: 1 });
    expect(counting.calls.refreshes()).toBe(6);
  });
});
