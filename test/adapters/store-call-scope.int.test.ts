import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STORE_TIMEOUTS } from '../../src/adapters/dynamo-client';
import { withStoreCallScope } from '../../src/ports/store-call-scope';
import type { FaultProxy } from '../support/fault-proxy';
import { startFaultyStore, type FaultyStore } from '../support/faulty-store';
import type { TestStore } from '../support/store';

/** One call's documented bound (docs/security.md, Timeouts): every attempt's connect and request bounds, and the longest backoff. */
const ONE_CALL_BOUND_MS = STORE_TIMEOUTS.maxAttempts * (STORE_TIMEOUTS.connectionTimeoutMs + STORE_TIMEOUTS.requestTimeoutMs) + 1_000;
/** Room for a busy test machine. */
const SLACK_MS = 1_000;
/** What one call to a hanging store takes at least: every attempt waits its whole request timeout. */
const ONE_HANGING_CALL_MS = STORE_TIMEOUTS.maxAttempts * STORE_TIMEOUTS.requestTimeoutMs;

/**
 * A request's store calls through the lean transport share one bound once
 * one of them got no answer: a write, the look after it and an undo (an
 * exchange's path) give up within one call's bound, not three.
 */
describe('one store bound per request', () => {
  let faulty: FaultyStore;
  let store: TestStore;
  let faults: FaultProxy;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    faulty = await startFaultyStore();
    ({ store, faults, client } = faulty);
  });
  afterEach(() => faulty.heal());
  afterAll(() => faulty.close());

  const get = (sid: string) => client.send(new GetCommand({ TableName: store.tables.sessions, Key: { sid }, ConsistentRead: true }));
  const nameOf = (error: unknown) => (error as Error).name;
  const threeCalls = async (): Promise<{ failures: string[]; ms: number }> => {
    const started = performance.now();
    const failures: string[] = [];
    for (const sid of ['write', 'look', 'undo']) await get(sid).catch((error: unknown) => failures.push(nameOf(error)));
    return { failures, ms: performance.now() - started };
  };

  it('gives up on three calls in a row to a hanging store within one call’s bound in a request', async () => {
    await faults.setMode('hang');

    const { failures, ms } = await withStoreCallScope(threeCalls);

    expect(failures).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
    expect(ms).toBeLessThan(ONE_CALL_BOUND_MS + SLACK_MS);
  });

  it('fails a call at once, sending nothing, when the request has spent its bound', async () => {
    await faults.setMode('hang');

    const { sent, name, ms } = await withStoreCallScope(async () => {
      await threeCalls();
      // Past the bound for sure (a timer may fire a fraction of a millisecond before performance.now() says it is due).
      await new Promise((resolve) => setTimeout(resolve, 10));
      const before = faults.calls.length;
      const started = performance.now();
      const failure = await get('fourth').catch(nameOf);
      return { sent: faults.calls.length - before, name: failure, ms: performance.now() - started };
    });

    expect(name).toBe('TimeoutError');
    expect(sent).toBe(0);
    expect(ms).toBeLessThan(100);
  });

  it('lets each call outside a request keep its own bound', async () => {
    await faults.setMode('hang');

    const { failures, ms } = await threeCalls();

    expect(failures).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
    expect(ms).toBeGreaterThan(3 * ONE_HANGING_CALL_MS - 100);
  });

  it('does not shorten the calls after one the store answered (a refused condition is no outage)', async () => {
    await client.send(new PutCommand({ TableName: store.tables.sessions, Item: { sid: 'taken' } }));

    const { names, ms } = await withStoreCallScope(async () => {
      const refused = await client
        .send(new PutCommand({ TableName: store.tables.sessions, Item: { sid: 'taken' }, ConditionExpression: 'attribute_not_exists(sid)' }))
        .catch(nameOf);
      await faults.setMode('hang');
      const started = performance.now();
      const next = await get('after').catch(nameOf);
      return { names: [refused, next], ms: performance.now() - started };
    });

    expect(names).toEqual(['ConditionalCheckFailedException', 'TimeoutError']);
    expect(ms).toBeGreaterThan(ONE_HANGING_CALL_MS - 100);
  });

  it('still serves a later call of the request when the store is back within the bound', async () => {
    const answers = await withStoreCallScope(async () => {
      await faults.setMode('reset');
      const first = await get('x').catch(nameOf);
      await faults.setMode('up');
      const second = await get('x').then(() => 'answered');
      return [first, second];
    });

    expect(answers).toEqual(['TimeoutError', 'answered']);
  });
});
