import { createHash } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { DynamoRateLimiter, nearLimitMargin, RATE_LIMIT_KEY_PREFIX, type RateLimiterLog } from '../../src/adapters/dynamo-rate-limiter';
import { UnavailableError } from '../../src/domain/errors';
import { ensureTables } from '../../src/local/tables';
import { TestClock } from '../support/clock';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestStore, type TestStore } from '../support/store';

describe('DynamoRateLimiter against a DynamoDB-protocol store', () => {
  let store: TestStore;
  let admin: DynamoDBClient;
  // Two limiters on one table: two Lambda instances, each with its own memory.
  let first: DynamoRateLimiter;
  let second: DynamoRateLimiter;
  // One second into a window, so a test never straddles a boundary by accident.
  const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);

  beforeAll(async () => {
    store = await startTestStore();
    admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureTables(admin, store.tables);
    const client = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
    first = new DynamoRateLimiter(client, store.tables.guards, clock);
    second = new DynamoRateLimiter(client, store.tables.guards, clock);
  });

  afterAll(async () => {
    admin?.destroy();
    await store?.close();
  });

  it('shares one budget between instances and refuses the request over it with a Retry-After', async () => {
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await (i % 2 === 0 ? first : second).hit('proxy:github:shared', 5, 60));
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions[5]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(decisions[5]!.retryAfterSeconds).toBeLessThanOrEqual(120);
  });

  it('counts concurrent hits atomically', async () => {
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).hit('proxy:github:burst', 20, 60)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(20);
  });

  it('keeps the previous window weighing on the next one, then forgets it', async () => {
    const key = 'proxy:github:slide';
    for (let i = 0; i < 4; i++) await first.hit(key, 4, 60);
    clock.advance(60); // one second into the next window: the previous 4 still weigh 4 × 59/60
    expect((await second.hit(key, 4, 60)).allowed).toBe(false);
    clock.advance(45); // 46 s in: 4 × 14/60 + 2 ≤ 4
    expect((await second.hit(key, 4, 60)).allowed).toBe(true);
    clock.advance(120); // two windows on: nothing weighs
    const fresh = [];
    for (let i = 0; i < 4; i++) fresh.push((await first.hit(key, 4, 60)).allowed);
    expect(fresh).toEqual([true, true, true, true]);
  });

  it('stores hashed keys with a TTL, never the subject or address itself', async () => {
    await first.hit('token-ip:203.0.113.7', 10, 60);
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

/**
 * Local decisions (`background: true`, what the proxy asks for): a fault
 * proxy sits between the limiters and the store, so the tests see every
 * request that reaches it and can make the counter writes fail.
 */
describe('DynamoRateLimiter deciding locally once it knows a count', () => {
  let store: TestStore;
  let faults: FaultProxy;
  let client: DynamoDBDocumentClient;
  let direct: DynamoDBDocumentClient;
  const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const background = { background: true } as const;
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const log: RateLimiterLog = { warn: (message, fields) => warnings.push({ message, fields }) };
  const limiter = () => new DynamoRateLimiter(client, store.tables.guards, clock, log);
  const writes = () => faults.calls.filter((call) => call.operation === 'UpdateItem').length;
  /** The shared count of `key` in the current window, read from the store itself. */
  const storedCount = async (key: string) => {
    const hashed = createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const pk = `${RATE_LIMIT_KEY_PREFIX}${hashed}#${Math.floor(clock.now() / 60_000)}`;
    const { Item } = await direct.send(new GetCommand({ TableName: store.tables.guards, Key: { pk }, ConsistentRead: true }));
    return Number(Item?.count ?? 0);
  };

  beforeAll(async () => {
    store = await startTestStore();
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureTables(admin, store.tables);
    admin.destroy();
    faults = await startFaultProxy(store.endpoint);
    client = createDocumentClient({ endpoint: faults.endpoint, region: 'local' });
    direct = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterEach(async () => {
    faults.failWhen(undefined);
    await faults.setMode('up');
    warnings.length = 0;
  });

  afterAll(async () => {
    client?.destroy();
    direct?.destroy();
    await faults?.close();
    await store?.close();
  });

  it('waits for the store on the first request, then decides locally while the write is still on its way', async () => {
    const instance = limiter();
    const first = await instance.hit('proxy:github:local', 100, 60, background);
    expect(first).toEqual({ allowed: true, count: 1, retryAfterSeconds: 0 }); // answered by the store: nothing left running
    expect(await storedCount('proxy:github:local')).toBe(1);

    const before = writes();
    const second = await instance.hit('proxy:github:local', 100, 60, background);
    let settled = false;
    void second.counted!.then(() => (settled = true));
    expect(second.allowed).toBe(true);
    expect(second.count).toBe(2);
    expect(second.counted).toBeInstanceOf(Promise);
    // The decision came back before the store could have answered its write.
    await Promise.resolve();
    expect(settled).toBe(false);
    await second.counted;
    expect(settled).toBe(true);
    expect(writes()).toBe(before + 1);
  });

  it('gets every background write into the shared count, and takes the answers into the local count', async () => {
    const a = limiter();
    const b = limiter();
    const key = 'proxy:github:reaching';
    await a.hit(key, 100, 60, background);
    await b.hit(key, 100, 60, background);
    const decisions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit(key, 100, 60, background)));
    expect(decisions.every((decision) => decision.allowed && decision.counted)).toBe(true);
    await Promise.all(decisions.map((decision) => decision.counted));
    expect(await storedCount(key)).toBe(12);
    // Instance a knows the highest count its own six writes got back (at least 6; 12 only if its write landed
    // last — the store's answers arrive in any order, as DynamoDB Local shows): its next local count is above
    // that, never above the shared 13. Had it not taken the answers in, it would still say 2.
    const next = await a.hit(key, 100, 60, background);
    expect(next.count).toBeGreaterThanOrEqual(7);
    expect(next.count).toBeLessThanOrEqual(13);
    await next.counted;
    expect(await storedCount(key)).toBe(13);
  });

  it('logs a failed background write without the key and makes the next request wait for the store again', async () => {
    const instance = limiter();
    const key = 'proxy:github:failing';
    await instance.hit(key, 100, 60, background);
    faults.failWhen((call) => (call.operation === 'UpdateItem' ? 'reset' : undefined));

    const local = await instance.hit(key, 100, 60, background);
    expect(local.allowed).toBe(true);
    await expect(local.counted).resolves.toBeUndefined(); // never rejects
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe('rate-limit counter write failed');
    expect(warnings[0]!.fields.error).toBe('UnavailableError');
    expect(JSON.stringify(warnings)).not.toContain('github');
    expect(JSON.stringify(warnings)).not.toContain(createHash('sha256').update(key).digest('base64url').slice(0, 32));

    // The store is still failing: the next request waits for it and fails closed.
    await expect(instance.hit(key, 100, 60, background)).rejects.toBeInstanceOf(UnavailableError);
    faults.failWhen(undefined);
    // Back: the first request waits for the store (no `counted`), the one after decides locally again.
    const resynced = await instance.hit(key, 100, 60, background);
    expect(resynced.counted).toBeUndefined();
    expect(resynced.count).toBe(await storedCount(key));
    const again = await instance.hit(key, 100, 60, background);
    expect(again.counted).toBeInstanceOf(Promise);
    await again.counted;
  });

  it('waits for the store near the limit, so the refusing decision is made on the shared count', async () => {
    const a = limiter();
    const b = limiter();
    const key = 'proxy:github:near';
    // Alternating instances, each answering after its write settled: b's local view always misses a's last request.
    const allowed = [];
    for (let i = 0; i < 12; i++) {
      const decision = await (i % 2 ? b : a).hit(key, 10, 60, background);
      await decision.counted;
      allowed.push(decision.allowed);
    }
    expect(allowed).toEqual([...Array(10).fill(true), false, false]);
    expect(await storedCount(key)).toBe(12);
  });

  it('misses nothing of its own requests under concurrency: one instance never lets more than the limit through', async () => {
    const instance = limiter();
    const key = 'proxy:github:burst-one';
    await instance.hit(key, 20, 60, background);
    const decisions = await Promise.all(Array.from({ length: 40 }, () => instance.hit(key, 20, 60, background)));
    await Promise.all(decisions.map((decision) => decision.counted));
    const allowed = decisions.filter((decision) => decision.allowed).length;
    // Never over the limit (20, one already spent). Near the limit the instance waits for the store and counts its
    // own undelivered requests as well, so with the store's answers arriving out of order it may refuse up to the
    // near-limit margin early; DynamoDB Local showed both (22 allowed before that floor, 18 after).
    expect(allowed).toBeLessThanOrEqual(19);
    expect(allowed).toBeGreaterThanOrEqual(19 - nearLimitMargin(20));
    expect(await storedCount(key)).toBe(41); // refused requests count too
  });

  it('overshoots by at most one request per instance when instances answer only after their writes settle', async () => {
    const limit = 30;
    const key = 'proxy:github:overshoot';
    const instances = Array.from({ length: 4 }, limiter);
    let allowed = 0;
    let requests = 0;
    // Four Lambda-like instances run side by side, each serving one request at a time (bounded: 25 each).
    await Promise.all(
      instances.map(async (instance) => {
        for (let i = 0; i < 25; i++) {
          const decision = await instance.hit(key, limit, 60, background);
          await decision.counted;
          requests += 1;
          if (decision.allowed) allowed += 1;
        }
      }),
    );
    expect(requests).toBe(100);
    expect(await storedCount(key)).toBe(100);
    expect(allowed).toBeGreaterThanOrEqual(limit);
    expect(allowed).toBeLessThanOrEqual(limit + instances.length);
  });

  it('overshoots by at most the requests each instance decides while a write is unanswered, under a concurrent burst', async () => {
    const limit = 40;
    const key = 'proxy:github:overshoot-burst';
    const a = limiter();
    const b = limiter();
    // Each instance learns a count, then the other fills most of the budget behind its back.
    await a.hit(key, limit, 60, background);
    await b.hit(key, limit, 60, background);
    const burst = async (instance: DynamoRateLimiter, count: number) => {
      const decisions = await Promise.all(Array.from({ length: count }, () => instance.hit(key, limit, 60, background)));
      await Promise.all(decisions.map((decision) => decision.counted));
      return decisions;
    };
    const [fromA, fromB] = await Promise.all([burst(a, 30), burst(b, 30)]);
    const allowed = 2 + [...fromA, ...fromB].filter((decision) => decision.allowed).length;
    // Decided locally while their writes were in flight: the documented bound on the excess.
    const inFlight = [...fromA, ...fromB].filter((decision) => decision.counted).length;
    expect(await storedCount(key)).toBe(62);
    expect(allowed).toBeGreaterThan(limit); // each instance's view missed the other's burst
    expect(allowed - limit).toBeLessThanOrEqual(inFlight);
    // An instance whose last answer predates the other's burst may allow one more (its first request after the
    // crossing, decided on its old count); that write's answer brings the shared count, and the next is refused.
    for (const instance of [a, b]) {
      const stale = await instance.hit(key, limit, 60, background);
      await stale.counted;
      const next = await instance.hit(key, limit, 60, background);
      expect(next.allowed).toBe(false);
      expect(next.counted).toBeUndefined();
    }
  });
});
