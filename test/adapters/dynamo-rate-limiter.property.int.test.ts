import { createHash, randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { DynamoRateLimiter, RATE_LIMIT_KEY_PREFIX } from '../../src/adapters/dynamo-rate-limiter';
import { ensureTables } from '../../src/local/tables';
import { TestClock } from '../support/clock';
import { startTestStore, type TestStore } from '../support/store';
import { budget } from '../property/fc-budget';

/** One step of a schedule: a burst of concurrent requests at one instance, then time passes (or the instance is replaced). */
interface Step {
  instance: number;
  burst: number;
  advanceMs: number;
  /** Lambda froze this instance and a fresh one (empty memory) takes its place after the burst. */
  replace: boolean;
}

/**
 * Leased quota against random schedules over a real store: several
 * instances, bursts, time jumps across window boundaries, instances frozen
 * and replaced, every claim size setting. Whatever the schedule, per window
 * the admitted requests never exceed the claimed total, the claimed total
 * never exceeds the limit, and the sliding estimate (the previous window
 * weighted by its overlap, plus this one's admissions so far) never exceeds
 * the limit when a request is admitted.
 */
describe('DynamoRateLimiter: the guarantee under random schedules', () => {
  let store: TestStore;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    store = await startTestStore();
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureTables(admin, store.tables);
    admin.destroy();
    client = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterAll(async () => {
    client?.destroy();
    await store?.close();
  });

  const claimedTotal = async (key: string, window: number) => {
    const hashed = createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const { Item } = await client.send(new GetCommand({ TableName: store.tables.guards, Key: { pk: `${RATE_LIMIT_KEY_PREFIX}${hashed}#${window}` }, ConsistentRead: true }));
    return Number(Item?.count ?? 0);
  };

  const step = fc.record<Step>({
    instance: fc.integer({ min: 0, max: 5 }),
    burst: fc.integer({ min: 1, max: 8 }),
    advanceMs: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 10_000, max: 45_000 })),
    replace: fc.boolean(),
  });

  it('never admits more than the claimed total, nor claims more than the limit, in any window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 10, 60),
        fc.constantFrom(0.25, 0.5, 1),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (limit, instanceCount, leaseSeconds, maxClaimFraction, steps) => {
          const key = `proxy:github:prop-${randomBytes(6).toString('hex')}`;
          const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 500);
          const make = () => new DynamoRateLimiter(client, store.tables.guards, clock, { leaseSeconds, maxClaimFraction });
          const instances = Array.from({ length: instanceCount }, make);
          const admitted = new Map<number, number>();
          for (const { instance, burst, advanceMs, replace } of steps) {
            const index = instance % instanceCount;
            const now = clock.now();
            const window = Math.floor(now / 60_000);
            const decisions = await Promise.all(Array.from({ length: burst }, () => instances[index]!.hit(key, limit, 60)));
            const granted = decisions.filter((decision) => decision.allowed).length;
            admitted.set(window, (admitted.get(window) ?? 0) + granted);
            for (const decision of decisions) if (!decision.allowed) expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            // The sliding estimate of what was admitted, at the moment these were admitted.
            const overlap = 1 - (now - window * 60_000) / 60_000;
            expect((admitted.get(window - 1) ?? 0) * overlap + admitted.get(window)!).toBeLessThanOrEqual(limit + 1e-9);
            if (replace) instances[index] = make();
            clock.advance(advanceMs / 1000);
          }
          for (const [window, count] of admitted) {
            const claimed = await claimedTotal(key, window);
            expect(count).toBeLessThanOrEqual(claimed);
            expect(claimed).toBeLessThanOrEqual(limit);
          }
        },
      ),
      budget(25),
    );
  }, 60_000);
});
