import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { ADMIN_PAGE_SIZE, DynamoSessionDirectory } from '../../src/adapters/dynamo-session-admin';
import { DynamoSessionStore } from '../../src/adapters/dynamo-session-store';
import type { Session } from '../../src/domain/session';
import type { SessionFilter, SessionQueryPlan } from '../../src/domain/session-filter';
import { ensureTables } from '../../src/local/tables';
import type { TollgateEvent } from '../../src/ports/telemetry';
import { SessionAdminService, type SearchProgress } from '../../src/services/session-admin-service';
import { TestClock } from '../support/clock';
import { startTestStore, type TestStore } from '../support/store';

/**
 * The admin service over the real DynamoDB adapters and a real store: paging
 * (index queries and scans read at most `ADMIN_PAGE_SIZE` per page), the
 * created range as an index key condition, the scan fallback when a table
 * lacks an index, and revocation through the store's own `end`.
 */
describe('SessionAdminService against a DynamoDB-protocol store', () => {
  const T0 = 1_800_000_000;
  let store: TestStore;
  let raw: DynamoDBClient;
  let db: DynamoDBDocumentClient;
  const clock = new TestClock(T0 * 1000 + 3_000_000);
  const now = () => Math.floor(clock.now() / 1000);

  function session(index: number, overrides: Partial<Session> = {}): Session {
    const repository = index % 2 === 0 ? 'acme/app' : 'acme/other';
    return {
      sid: `sid-${String(index).padStart(4, '0')}`,
      sub: `github:repo:${repository}:ref:refs/heads/main`,
      kind: 'ci',
      trust: 'github',
      scopes: ['deploy'],
      sidCreatedAt: T0 + index * 10,
      sidExpiry: T0 + 86_400 * 30,
      idleExpiry: T0 + 86_400 * 30,
      refreshCount: 0,
      refreshHash: `hash-${index}`,
      usedHashes: [],
      status: 'active',
      context: { gh: { repository, ref: 'refs/heads/main' } },
      ttl: T0 + 86_400 * 40,
      ...overrides,
    };
  }

  function harness(table: string) {
    const events: TollgateEvent[] = [];
    const sessions = new DynamoSessionStore(db, table, now);
    const service = new SessionAdminService({
      sessions,
      directory: new DynamoSessionDirectory(db, table, now),
      telemetry: { emit: (event) => events.push(event) },
      clock,
    });
    return { service, sessions, events };
  }

  async function search(service: SessionAdminService, filter: SessionFilter) {
    const plans: SessionQueryPlan[] = [];
    const pages: SearchProgress[] = [];
    const found = await service.find(filter, { onPlan: (plan) => plans.push(plan), onPage: (page) => pages.push({ ...page }) });
    return { found, plans, pages };
  }

  const tables = { sessions: 'admin-sessions', guards: 'admin-guards' };
  const COUNT = 230;

  beforeAll(async () => {
    store = await startTestStore();
    raw = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    db = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
    await ensureTables(raw, tables);
    const { sessions } = harness(tables.sessions);
    for (let start = 0; start < COUNT; start += 25) {
      await Promise.all(Array.from({ length: Math.min(25, COUNT - start) }, (_, offset) => sessions.create(session(start + offset))));
    }
    await sessions.create(session(900, { sid: 'sid-user', sub: 'clerk:user_1', kind: 'user', trust: 'clerk', context: {} }));
  }, 60_000);
  afterAll(async () => {
    raw?.destroy();
    db?.destroy();
    await store?.close();
  });

  it('pages through the byRepository index, at most one page size at a time', async () => {
    const { service } = harness(tables.sessions);

    const { found, plans, pages } = await search(service, { gh: { repository: 'acme/app' } });

    expect(plans).toEqual([{ kind: 'index', index: 'byRepository', value: 'acme/app', createdAfter: undefined, createdBefore: undefined }]);
    expect(found).toHaveLength(COUNT / 2);
    expect(found.every((item) => (item.context.gh as { repository: string }).repository === 'acme/app')).toBe(true);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.at(-1)!.read).toBe(COUNT / 2);
    pages.reduce((previous, page) => {
      expect(page.read - previous).toBeLessThanOrEqual(ADMIN_PAGE_SIZE);
      return page.read;
    }, 0);
  });

  it('reads only the created range from the byTrust index (a key condition, not a filter)', async () => {
    const { service } = harness(tables.sessions);

    const { found, pages } = await search(service, { trust: 'github', gh: {}, createdAfter: T0 + 1_000, createdBefore: T0 + 1_500 });

    expect(found.map((item) => item.sid)).toEqual(Array.from({ length: 50 }, (_, i) => `sid-${String(100 + i).padStart(4, '0')}`));
    expect(pages.at(-1)!.read).toBe(50);
  });

  it('scans in pages when no index serves the filter, and still matches exactly', async () => {
    const { service } = harness(tables.sessions);

    const { found, plans, pages } = await search(service, { kind: 'user', gh: {} });

    expect(plans).toEqual([{ kind: 'scan', why: expect.stringContaining('no filter on an indexed field') }]);
    expect(found.map((item) => item.sid)).toEqual(['sid-user']);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.at(-1)!.read).toBe(COUNT + 1);
  });

  it('falls back to a scan, and says so, on a table created before the admin indexes', async () => {
    const old = 'admin-sessions-old';
    await raw.send(
      new CreateTableCommand({
        TableName: old,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'sid', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'sid', KeyType: 'HASH' }],
      }),
    );
    const { service, sessions } = harness(old);
    await sessions.create(session(1, { context: { gh: { repository: 'acme/app' } } }));
    await sessions.create(session(2, { context: { gh: { repository: 'acme/web' } } }));

    const { found, plans } = await search(service, { gh: { repository: 'acme/app' } });

    expect(plans.map((plan) => plan.kind)).toEqual(['index', 'scan']);
    expect(plans[1]).toEqual({ kind: 'scan', why: 'the table has no byRepository index yet' });
    expect(found.map((item) => item.sid)).toEqual(['sid-0001']);
  });

  it('ends a session with the store write /revoke uses, emits SessionRevoked{admin} once, and records who and why', async () => {
    const { service, events } = harness(tables.sessions);

    const first = await service.revoke('sid-0002', { reason: 'leak', actor: 'arn:aws:iam::1:user/ops' });
    const second = await service.revoke('sid-0002', { reason: 'again', actor: 'someone-else' });

    expect(first).toEqual({ sid: 'sid-0002', outcome: 'revoked', recorded: true });
    expect(second).toEqual({ sid: 'sid-0002', outcome: 'already_ended' });
    expect(events).toEqual([{ type: 'SessionRevoked', source: 'admin', sid: 'sid-0002' }]);
    expect(await service.show('sid-0002')).toMatchObject({
      status: 'revoked',
      endReason: 'revoked',
      endedAt: now(),
      adminRevocation: { by: 'arn:aws:iam::1:user/ops', reason: 'leak', at: now() },
    });
  });
});
