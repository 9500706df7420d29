import { createHash, randomBytes } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { DynamoRateLimiter, RATE_LIMIT_KEY_PREFIX, type LeaseSettings } from '../../src/adapters/dynamo-rate-limiter';
import { UnavailableError } from '../../src/domain/errors';
import { ensureTables } from '../../src/local/tables';
import { TestClock } from '../support/clock';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestStore, type TestStore } from '../support/store';

/**
 * Leased quota against a real DynamoDB-protocol store (dynalite, or DynamoDB
 * Local with `npm run test:dynamodb-local`). Every limiter is one process (a
 * Lambda instance) with its own memory; a fault proxy sits between them and
 * the store, so the tests count every store request and break some.
 */
describe('DynamoRateLimiter: leased quota over one shared store', () => {
  let store: TestStore;
  let faults: FaultProxy;
  let client: DynamoDBDocumentClient;
  let direct: DynamoDBDocumentClient;
  let admin: DynamoDBClient;
  // One second into a minute, so no test straddles a window boundary unless it moves the clock there.
  const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const limiter = (settings: Partial<LeaseSettings> = {}) => new DynamoRateLimiter(client, store.tables.guards, clock, settings);
  const storeRequests = () => faults.calls.length;
  const claims = () => faults.calls.filter((call) => call.operation === 'UpdateItem').length;
  const uniqueKey = (name: string) => `proxy:github:${name}-${randomBytes(4).toString('hex')}`;
  /** The claimed total of `key` in the current window, read from the store itself. */
  const claimedTotal = async (key: string, window = Math.floor(clock.now() / 60_000)) => {
    const hashed = createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const { Item } = await direct.send(new GetCommand({ TableName: store.tables.guards, Key: { pk: `${RATE_LIMIT_KEY_PREFIX}${hashed}#${window}` }, ConsistentRead: true }));
    return Number(Item?.count ?? 0);
  };
  const admittedOf = (decisions: { allowed: boolean }[]) => decisions.filter((decision) => decision.allowed).length;

  beforeAll(async () => {
    store = await startTestStore();
    admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureTables(admin, store.tables);
    faults = await startFaultProxy(store.endpoint);
    client = createDocumentClient({ endpoint: faults.endpoint, region: 'local' });
    direct = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterEach(async () => {
    faults.failWhen(undefined);
    await faults.setMode('up');
  });

  afterAll(async () => {
    client?.destroy();
    direct?.destroy();
    admin?.destroy();
    await faults?.close();
    await store?.close();
  });

  it('shares one budget between instances and refuses the request over it with a Retry-After', async () => {
    const [a, b] = [limiter(), limiter()];
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await (i % 2 === 0 ? a : b).hit('proxy:github:shared', 5, 60));
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, true, true, false]);
    // Nothing else arrives in this window: the next window, once enough of this one has slid out.
    expect(decisions[5]!.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(decisions[5]!.retryAfterSeconds).toBeLessThanOrEqual(120);
    expect(decisions[5]!.count).toBe(6);
  });

  it('never admits more than the limit, however many instances claim at once (and the store agrees)', async () => {
    for (const [round, instances] of [4, 8, 16].entries()) {
      const key = uniqueKey(`crowd-${round}`);
      const limit = 25;
      const crowd = Array.from({ length: instances }, () => limiter());
      // Three times the limit, in concurrent bursts of uneven sizes, then one request each after the bursts.
      const decisions = await Promise.all(crowd.flatMap((instance, i) => Array.from({ length: Math.ceil((3 * limit) / instances) + (i % 3) }, () => instance.hit(key, limit, 60))));
      const after = await Promise.all(crowd.map((instance) => instance.hit(key, limit, 60)));
      const admitted = admittedOf(decisions) + admittedOf(after);
      const claimed = await claimedTotal(key);
      expect(claimed).toBeLessThanOrEqual(limit);
      expect(admitted).toBeLessThanOrEqual(claimed);
      // Every request in hand is claimed for: under a burst nothing is left unspent in a slice.
      expect(admitted).toBe(claimed);
      expect(admitted).toBeGreaterThanOrEqual(limit - 1);
    }
  });

  it('keeps the sliding window across a boundary: the previous window weighs, unspent slices do not carry over', async () => {
    const key = uniqueKey('boundary');
    const busy = limiter();
    const windowStart = Math.floor(clock.now() / 60_000) * 60_000;
    clock.advance((windowStart + 50_000 - clock.now()) / 1000); // 50 s into a window
    // A steady 2 requests per second: claims grow to cover the rest of the window.
    let admitted = 0;
    for (let i = 0; i < 18; i++) {
      if ((await busy.hit(key, 40, 60)).allowed) admitted += 1;
      clock.advance(0.5);
    }
    expect(admitted).toBe(18);
    const claimedBefore = await claimedTotal(key, Math.floor((windowStart + 50_000) / 60_000));
    expect(claimedBefore).toBeGreaterThanOrEqual(18);
    expect(claimedBefore).toBeLessThanOrEqual(40);
    clock.advance(2); // 1 s into the next window
    const before = claims();
    const first = await busy.hit(key, 40, 60);
    expect(first.allowed).toBe(true);
    expect(claims()).toBe(before + 1); // a new window's budget is claimed anew, whatever was left of the old slice
    // The previous window's claimed total weighs: at most 40 − claimedBefore × 59/60 more right now, all instances together.
    const other = limiter();
    const burst = await Promise.all(Array.from({ length: 40 }, () => other.hit(key, 40, 60)));
    const room = Math.floor(40 - claimedBefore * (59 / 60));
    expect(1 + admittedOf(burst)).toBeLessThanOrEqual(room);
    expect(await claimedTotal(key)).toBeLessThanOrEqual(room);
    clock.advance(120);
  });

  it('loses at most a frozen instance’s unspent slice, and only until the window ends', async () => {
    const key = uniqueKey('frozen');
    const limit = 60;
    const frozen = limiter();
    // Busy for 10 s (2 per second), then frozen by Lambda with whatever is left of its slice.
    for (let i = 0; i < 20; i++) {
      expect((await frozen.hit(key, limit, 60)).allowed).toBe(true);
      clock.advance(0.5);
    }
    const heldByFrozen = (await claimedTotal(key)) - 20;
    expect(heldByFrozen).toBeGreaterThan(0); // it did claim ahead: that is what saves the store requests
    expect(heldByFrozen).toBeLessThanOrEqual(Math.ceil((limit - 20) / 2)); // never more than maxClaimFraction of what was left
    const thawed = limiter();
    let admitted = 0;
    for (let i = 0; i < limit; i++) if ((await thawed.hit(key, limit, 60)).allowed) admitted += 1;
    expect(admitted).toBe(limit - 20 - heldByFrozen);
    expect(await claimedTotal(key)).toBe(limit);
    clock.advance(120); // two windows on: nothing weighs any more, the whole budget is back
    let later = 0;
    for (let i = 0; i < limit; i++) if ((await thawed.hit(key, limit, 60)).allowed) later += 1;
    expect(later).toBe(limit);
    clock.advance(120);
  });

  it('has a slow subject (one request a minute) claim 1 at a time, and a steady one cost far less than one store request per request', async () => {
    const slow = uniqueKey('slow');
    const instance = limiter();
    for (let i = 0; i < 4; i++) {
      const before = await claimedTotal(slow);
      const requestsBefore = storeRequests();
      expect((await instance.hit(slow, 100, 60)).allowed).toBe(true);
      expect(await claimedTotal(slow)).toBe(before + 1); // claimed exactly the one request
      // One store request: the claim (checked against a previous minute assumed full, which leaves room: no read).
      expect(storeRequests() - requestsBefore).toBe(1);
      clock.advance(61);
    }
    clock.advance(120);

    // 40 requests a minute (below half of 100), one instance, two full windows: the second is the steady state.
    const steady = uniqueKey('steady');
    const windowStart = Math.floor(clock.now() / 60_000) * 60_000;
    clock.advance((windowStart + 60_000 - clock.now()) / 1000);
    for (let i = 0; i < 40; i++) {
      expect((await instance.hit(steady, 100, 60)).allowed).toBe(true);
      clock.advance(1.5);
    }
    const before = storeRequests();
    for (let i = 0; i < 40; i++) {
      expect((await instance.hit(steady, 100, 60)).allowed).toBe(true);
      clock.advance(1.5);
    }
    expect((storeRequests() - before) / 40).toBeLessThanOrEqual(0.1);
    clock.advance(120);
  });

  it('with leaseSeconds 0, claims exactly the requests in hand: one store write per request', async () => {
    const key = uniqueKey('no-lease');
    const instance = limiter({ leaseSeconds: 0 });
    await instance.hit(key, 100, 60); // the previous window's read
    const before = claims();
    for (let i = 0; i < 10; i++) await instance.hit(key, 100, 60);
    expect(claims() - before).toBe(10);
    expect(await claimedTotal(key)).toBe(11);
  });

  it('refuses from the shared total without a store request until Retry-After has passed', async () => {
    const key = uniqueKey('refused');
    const instance = limiter();
    for (let i = 0; i < 3; i++) expect((await instance.hit(key, 3, 60)).allowed).toBe(true);
    const refused = await instance.hit(key, 3, 60);
    expect(refused.allowed).toBe(false);
    const before = storeRequests();
    for (let i = 0; i < 20; i++) expect((await instance.hit(key, 3, 60)).allowed).toBe(false);
    expect(storeRequests()).toBe(before);
    clock.advance(refused.retryAfterSeconds);
    expect((await instance.hit(key, 3, 60)).allowed).toBe(true);
    clock.advance(120);
  });

  it('keeps admitting from a slice it holds while the store is down, then answers 503 from the request that needs the store', async () => {
    const key = uniqueKey('outage');
    const instance = limiter();
    // Busy: it holds a slice.
    for (let i = 0; i < 20; i++) {
      await instance.hit(key, 1_000, 60);
      clock.advance(0.25);
    }
    const held = (await claimedTotal(key)) - 20;
    expect(held).toBeGreaterThan(0);
    await faults.setMode('reset');
    for (let i = 0; i < held; i++) expect((await instance.hit(key, 1_000, 60)).allowed).toBe(true);
    await expect(instance.hit(key, 1_000, 60)).rejects.toBeInstanceOf(UnavailableError);
    await faults.setMode('up');
    expect((await instance.hit(key, 1_000, 60)).allowed).toBe(true);
    clock.advance(120);
  });

  it('fails every request waiting on a claim when the store goes away in the middle of it, and claims again once it is back', async () => {
    const key = uniqueKey('mid-claim');
    const instance = limiter();
    await instance.hit(key, 100, 60); // the previous window is read and remembered
    await faults.setMode('hang');
    const waiting = Array.from({ length: 5 }, () => instance.hit(key, 100, 60));
    const outcomes = await Promise.allSettled(waiting);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
    }
    await faults.setMode('up');
    expect((await instance.hit(key, 100, 60)).allowed).toBe(true);
    // Whatever the hung claims did in the store, the total stays within the limit and covers what was admitted.
    const claimed = await claimedTotal(key);
    expect(claimed).toBeGreaterThanOrEqual(2);
    expect(claimed).toBeLessThanOrEqual(100);
  }, 20_000);

  it('recognises its own claim when the answer was lost and the SDK sent it again: the slice is counted once', async () => {
    const key = uniqueKey('lost-answer');
    const instance = limiter({ leaseSeconds: 0 });
    await instance.hit(key, 100, 60);
    let lost = 0;
    faults.failWhen(({ operation }) => (operation === 'UpdateItem' && lost++ === 0 ? 'lose-answer' : undefined));
    const before = claims();
    const decision = await instance.hit(key, 100, 60);
    expect(decision.allowed).toBe(true);
    expect(claims() - before).toBe(2); // the lost one, and the SDK's retry of the very same write
    expect(await claimedTotal(key)).toBe(2); // applied once: the retry's condition saw our own claim id
  });

  it('answers 503 when every answer to a claim is lost, and never counts the request as admitted', async () => {
    const key = uniqueKey('all-lost');
    const instance = limiter({ leaseSeconds: 0 });
    await instance.hit(key, 3, 60);
    faults.failWhen(({ operation }) => (operation === 'UpdateItem' ? 'lose-answer' : undefined));
    await expect(instance.hit(key, 3, 60)).rejects.toBeInstanceOf(UnavailableError);
    faults.failWhen(undefined);
    // The lost claim landed: the budget it took is lost for this window (under-admission), never over-admission.
    const admitted = admittedOf(await Promise.all(Array.from({ length: 5 }, () => instance.hit(key, 3, 60))));
    expect(1 + admitted).toBeLessThanOrEqual(3);
    expect(await claimedTotal(key)).toBeLessThanOrEqual(3);
    clock.advance(120);
  });

  it('stores hashed keys with a TTL, never the subject or address itself', async () => {
    await limiter().hit('token-ip:203.0.113.7', 10, 60);
    const { Items = [] } = await admin.send(new ScanCommand({ TableName: store.tables.guards }));
    const text = JSON.stringify(Items);
    expect(text).not.toContain('203.0.113.7');
    expect(text).not.toContain('github:');
    for (const item of Items) {
      const window = Number(/^rl#[A-Za-z0-9_-]{32}#(\d+)$/.exec(item.pk?.S ?? '')?.[1]);
      // Kept through the window after its own (when it is the weighted previous one), plus a minute.
      expect(Number(item.ttl?.N)).toBe((window + 2) * 60 + 60);
    }
  });

  it('throws UnavailableError when the table cannot be reached', async () => {
    const broken = new DynamoRateLimiter(createDocumentClient({ endpoint: store.endpoint, region: 'local' }), 'no-such-table', clock);
    await expect(broken.hit('proxy:x', 1, 60)).rejects.toBeInstanceOf(UnavailableError);
  });
});
