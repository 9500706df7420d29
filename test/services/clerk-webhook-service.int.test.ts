import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { DynamoReplayGuard } from '../../src/adapters/dynamo-replay-guard';
import { DynamoSessionStore } from '../../src/adapters/dynamo-session-store';
import { epochSeconds } from '../../src/domain/clock';
import { newSessionId } from '../../src/domain/refresh-token';
import type { Session } from '../../src/domain/session';
import { ensureTables } from '../../src/local/tables';
import type { SecretResolver } from '../../src/ports/secret-resolver';
import type { TollgateEvent } from '../../src/ports/telemetry';
import { ClerkWebhookService, DELIVERY_MEMORY_SECONDS } from '../../src/services/clerk-webhook-service';
import { svixSignature } from '../../src/domain/svix-signature';
import { TestClock } from '../support/clock';
import { startTestStore, type TestStore } from '../support/store';

/** The service against real DynamoDB adapters on a loopback store; only the secret resolver and telemetry are small fakes of our own ports. */
describe('ClerkWebhookService', () => {
  const clock = new TestClock();
  const secret = randomBytes(32);
  let store: TestStore;
  let client: DynamoDBDocumentClient;
  let sessions: DynamoSessionStore;
  let replay: DynamoReplayGuard;
  let events: TollgateEvent[];
  let forgotten: string[];
  let service: ClerkWebhookService;
  let secretValue: string;
  let deliveries = 0;

  const secrets: SecretResolver = {
    resolve: async (ref) => {
      expect(ref).toBe('env:CLERK_WEBHOOK_SECRET');
      return secretValue;
    },
  };

  beforeAll(async () => {
    store = await startTestStore();
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureTables(admin, store.tables);
    admin.destroy();
    client = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
    const now = () => epochSeconds(clock);
    sessions = new DynamoSessionStore(client, store.tables.sessions, now);
    replay = new DynamoReplayGuard(client, store.tables.guards, now);
  });
  afterAll(async () => {
    client?.destroy();
    await store?.close();
  });
  beforeEach(() => {
    events = [];
    forgotten = [];
    secretValue = `whsec_${secret.toString('base64')}`;
    service = new ClerkWebhookService({
      sessions,
      replay,
      secrets,
      signingSecretRef: 'env:CLERK_WEBHOOK_SECRET',
      trustNames: ['clerk', 'clerk-eu'],
      telemetry: { emit: (event) => events.push(event) },
      clock,
      onSessionEnded: (sid) => forgotten.push(sid),
    });
  });

  async function createSession(sub: string, upstreamSid?: string): Promise<string> {
    const now = epochSeconds(clock);
    const sid = newSessionId();
    const session: Session = {
      sid,
      sub,
      kind: 'user',
      trust: sub.split(':')[0]!,
      scopes: ['orders:read'],
      sidCreatedAt: now,
      sidExpiry: now + 86_400,
      idleExpiry: now + 7_200,
      refreshCount: 0,
      refreshHash: randomBytes(32).toString('base64url'),
      usedHashes: [],
      status: 'active',
      context: {},
      upstreamSid,
      ttl: now + 2 * 86_400,
    };
    await sessions.create(session);
    return sid;
  }

  function delivery(event: unknown, id = `msg_${++deliveries}`) {
    const body = Buffer.from(JSON.stringify(event));
    const timestamp = String(epochSeconds(clock));
    return { id, timestamp, signature: `v1,${svixSignature(secret, id, timestamp, body).toString('base64')}`, body };
  }

  const status = async (sid: string) => (await sessions.get(sid, { consistent: true }))?.status;

  it('session.ended ends every session created from that Clerk sid, and counts each with source=webhook', async () => {
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    const a = await createSession('clerk:user_1', clerkSid);
    const b = await createSession('clerk:user_1', clerkSid);
    const other = await createSession('clerk:user_1', 'sess_other');

    const result = await service.receive(delivery({ type: 'session.ended', object: 'event', data: { id: clerkSid, user_id: 'user_1' } }));

    expect(result).toMatchObject({ outcome: 'ended', type: 'session.ended', sessions: 2 });
    expect([await status(a), await status(b), await status(other)]).toEqual(['revoked', 'revoked', 'active']);
    expect((await sessions.get(a, { consistent: true }))?.endReason).toBe('upstream_session_ended');
    expect(events).toEqual(expect.arrayContaining([{ type: 'SessionRevoked', source: 'webhook', sid: a }, { type: 'SessionRevoked', source: 'webhook', sid: b }]));
    expect(events).toHaveLength(2);
    expect(forgotten.sort()).toEqual([a, b].sort());
  });

  it('session.ended ends only sessions of the trust entries the webhook governs, whatever upstream sid another issuer’s session carries', async () => {
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    const governed = [await createSession('clerk:user_1', clerkSid), await createSession('clerk-eu:user_1', clerkSid)];
    const otherProvider = await createSession('okta:user_1', clerkSid);
    const otherClerkInstance = await createSession('clerk-staging:user_1', clerkSid);

    const result = await service.receive(delivery({ type: 'session.ended', data: { id: clerkSid } }));

    expect(result).toMatchObject({ outcome: 'ended', sessions: 2 });
    expect(await Promise.all(governed.map(status))).toEqual(['revoked', 'revoked']);
    expect([await status(otherProvider), await status(otherClerkInstance)]).toEqual(['active', 'active']);
    expect(events.map((event) => (event as { sid?: string }).sid).sort()).toEqual([...governed].sort());
    expect(forgotten.sort()).toEqual([...governed].sort());
  });

  it('user.deleted ends the sessions of that user under every trust entry of the Clerk instance, and no one else', async () => {
    const user = `user_${randomBytes(6).toString('hex')}`;
    const mine = [await createSession(`clerk:${user}`, 'sess_a'), await createSession(`clerk-eu:${user}`, 'sess_b')];
    const foreignTrust = await createSession(`github:${user}`);
    const otherUser = await createSession('clerk:user_someone_else', 'sess_c');

    const result = await service.receive(delivery({ type: 'user.deleted', data: { id: user, object: 'user', deleted: true } }));

    expect(result).toMatchObject({ outcome: 'ended', sessions: 2 });
    expect(await Promise.all(mine.map(status))).toEqual(['revoked', 'revoked']);
    expect(await status(foreignTrust)).toBe('active');
    expect(await status(otherUser)).toBe('active');
  });

  it('acknowledges a replayed svix-id without acting again, for as long as Svix may retry', async () => {
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    await createSession('clerk:user_1', clerkSid);
    const first = delivery({ type: 'session.revoked', data: { id: clerkSid } });
    await service.receive(first);
    const later = await createSession('clerk:user_1', clerkSid);
    events = [];

    clock.advance(240); // still inside the 5-minute signature tolerance: the same bytes verify
    expect(await service.receive(first)).toEqual({ outcome: 'duplicate', svixId: first.id });
    clock.advance(DELIVERY_MEMORY_SECONDS - 600); // a Svix retry a day later: new timestamp, same id
    expect(await service.receive(delivery({ type: 'session.revoked', data: { id: clerkSid } }, first.id))).toMatchObject({ outcome: 'duplicate' });

    expect(await status(later)).toBe('active');
    expect(events).toEqual([]);
  });

  it('ignores unknown event types without writing anything', async () => {
    const id = `msg_ignored_${deliveries}`;
    const result = await service.receive(delivery({ type: 'user.updated', data: { id: 'user_1' } }, id));

    expect(result).toEqual({ outcome: 'ignored', type: 'user.updated', svixId: id });
    // The svix-id was not spent: claiming it now succeeds.
    expect(await replay.claim(`webhook#clerk#${id}`, epochSeconds(clock) + 60)).toBe(true);
  });

  it('refuses a bad signature before reading or writing the store', async () => {
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    const sid = await createSession('clerk:user_1', clerkSid);
    const forged = { ...delivery({ type: 'session.ended', data: { id: clerkSid } }), signature: `v1,${randomBytes(32).toString('base64')}` };

    await expect(service.receive(forged)).rejects.toMatchObject({ code: 'bad_signature', status: 401 });
    expect(await status(sid)).toBe('active');
    expect(await replay.claim(`webhook#clerk#${forged.id}`, epochSeconds(clock) + 60)).toBe(true);
  });

  it('accepts deliveries signed with either secret while the signing secret rotates', async () => {
    const next = randomBytes(32);
    secretValue = `whsec_${next.toString('base64')} whsec_${secret.toString('base64')}`;
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    await createSession('clerk:user_1', clerkSid);

    expect(await service.receive(delivery({ type: 'session.removed', data: { id: clerkSid } }))).toMatchObject({ outcome: 'ended', sessions: 1 });
  });

  it('forgets the svix-id when ending fails, so that Svix retrying does the work', async () => {
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    const sid = await createSession('clerk:user_1', clerkSid);
    const failing = new ClerkWebhookService({
      sessions: { ...bind(sessions), end: async () => Promise.reject(new Error('store down')) },
      replay,
      secrets,
      signingSecretRef: 'env:CLERK_WEBHOOK_SECRET',
      trustNames: ['clerk'],
      telemetry: { emit: (event) => events.push(event) },
      clock,
    });
    const attempt = delivery({ type: 'session.ended', data: { id: clerkSid } });

    await expect(failing.receive(attempt)).rejects.toThrow('store down');
    expect(await service.receive(attempt)).toMatchObject({ outcome: 'ended', sessions: 1 });
    expect(await status(sid)).toBe('revoked');
  });
});

function bind(store: DynamoSessionStore) {
  return {
    get: store.get.bind(store),
    end: store.end.bind(store),
    findByUpstreamSid: store.findByUpstreamSid.bind(store),
    findBySubject: store.findBySubject.bind(store),
  };
}
