import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { DynamoRateLimiter } from '../../src/adapters/dynamo-rate-limiter';
import { UnavailableError } from '../../src/domain/errors';
import { ensureTables } from '../../src/local/tables';
import { TestClock } from '../support/clock';
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
