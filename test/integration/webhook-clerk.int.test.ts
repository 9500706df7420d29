import { randomBytes } from 'node:crypto';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeJwt } from 'jose';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { clerkSessionClaims } from '../../src/local/dev-claims';
import { svixSignature } from '../../src/domain/svix-signature';
import { TestClock } from '../support/clock';
import { request, type HttpAnswer } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';

const SECRET_ENV = 'TOLLGATE_TEST_CLERK_WEBHOOK_SECRET';
const APP = 'https://app.example.com';

/**
 * POST /webhooks/clerk over HTTP on the local server: real Clerk-like
 * issuers, real sessions in a real store, Svix signatures made with the
 * configured secret.
 */
describe('POST /webhooks/clerk', () => {
  const clock = new TestClock();
  const secret = randomBytes(32);
  let issuers: TestIssuerServer;
  let tollgate: TestTollgate;
  let db: DynamoDBDocumentClient;
  let deliveries = 0;

  beforeAll(async () => {
    process.env[SECRET_ENV] = `whsec_${secret.toString('base64')}`;
    issuers = await startTestIssuers(['clerk', 'clerk-eu', 'github']);
    const userTrust = (name: 'clerk' | 'clerk-eu') => ({
      name,
      issuer: issuers.issuers[name]!.issuer,
      kind: 'user' as const,
      authorizedParties: [APP],
      rules: [{ claims: { sub: 'user_*' }, scopes: ['profile:read'] }],
    });
    tollgate = await startTestTollgate({
      clock,
      config: {
        trust: [
          userTrust('clerk'),
          // The same Clerk users behind a second issuer (a satellite domain): one user id, two trust entries.
          userTrust('clerk-eu'),
          { name: 'github', issuer: issuers.issuers.github!.issuer, kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { repository_id: '74' }, scopes: ['deploy'] }] },
        ],
        webhooks: { clerk: { signingSecret: `env:${SECRET_ENV}` } },
      },
    });
    db = createDocumentClient({ endpoint: tollgate.storeEndpoint, region: 'local' });
  });
  afterAll(async () => {
    db?.destroy();
    await tollgate?.close();
    await issuers?.close();
    delete process.env[SECRET_ENV];
  });

  /** Exchanges a Clerk-like session token; returns the tokens and the Tollgate sid. */
  async function session(options: { sub?: string; sid?: string; issuer?: 'clerk' | 'clerk-eu' } = {}) {
    const issuer = issuers.issuers[options.issuer ?? 'clerk']!;
    const subject = await issuer.sign(clerkSessionClaims(issuer.issuer, Math.floor(clock.now() / 1000), { azp: APP, sub: options.sub, sid: options.sid }));
    const answer = await tollgate.exchange(subject);
    if (answer.status !== 200) throw new Error(`exchange failed: ${answer.text}`);
    return { access: answer.json.access_token as string, refresh: answer.json.refresh_token as string, sid: decodeJwt(answer.json.access_token).sid as string };
  }

  const active = async (token: string) => (await tollgate.verify(token)).json.active as boolean;

  function signed(event: unknown, options: { id?: string; timestamp?: number; key?: Buffer } = {}) {
    const body = Buffer.from(JSON.stringify(event));
    const id = options.id ?? `msg_${Date.now()}_${++deliveries}`;
    const timestamp = String(options.timestamp ?? Math.floor(clock.now() / 1000));
    return { id, body, headers: { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': `v1,${svixSignature(options.key ?? secret, id, timestamp, body).toString('base64')}` } };
  }

  function post(body: Buffer | string, headers: Record<string, string>): Promise<HttpAnswer> {
    return request(`${tollgate.baseUrl}/webhooks/clerk`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  }

  const deliver = (delivery: ReturnType<typeof signed>) => post(delivery.body, delivery.headers);

  async function guardCount(): Promise<number> {
    const result = await db.send(new ScanCommand({ TableName: tollgate.tables.guards, ConsistentRead: true }));
    return (result.Items ?? []).filter((item) => String(item.pk).startsWith('webhook#')).length;
  }

  it.each(['session.ended', 'session.removed', 'session.revoked'])('%s ends the Tollgate sessions created from that Clerk sid', async (type) => {
    const clerkSid = `sess_${randomBytes(10).toString('hex')}`;
    const first = await session({ sid: clerkSid });
    const second = await session({ sid: clerkSid });
    const unrelated = await session();

    const answer = await deliver(signed({ type, object: 'event', data: { id: clerkSid, user_id: 'user_123', status: 'ended' } }));

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ received: true, outcome: 'ended' });
    expect(await active(first.access)).toBe(false);
    expect(await active(second.access)).toBe(false);
    expect(await active(unrelated.access)).toBe(true);
    expect((await tollgate.refresh(first.refresh)).json).toEqual({ error: 'invalid_grant', error_description: 'the session has ended' });
  });

  it('refuses to exchange a still-valid Clerk token of a session the webhook already ended', async () => {
    const clerkSid = `sess_${randomBytes(10).toString('hex')}`;
    const issuer = issuers.issuers.clerk!;
    // Minted before Clerk ended the session: Clerk tokens stay valid up to 60 s.
    const subject = await issuer.sign(clerkSessionClaims(issuer.issuer, Math.floor(clock.now() / 1000), { azp: APP, sid: clerkSid }));

    expect((await deliver(signed({ type: 'session.ended', object: 'event', data: { id: clerkSid, status: 'ended' } }))).status).toBe(200);

    const answer = await tollgate.exchange(subject);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid_grant', error_description: 'the session behind the subject token has ended' });
    expect((await session()).sid).toBeTruthy(); // other Clerk sessions still exchange
  });

  it('refuses to exchange a token of a user the webhook deleted, under every trust entry', async () => {
    const user = `user_${randomBytes(6).toString('hex')}`;
    expect((await deliver(signed({ type: 'user.deleted', object: 'event', data: { id: user, object: 'user', deleted: true } }))).status).toBe(200);
    for (const name of ['clerk', 'clerk-eu'] as const) {
      const issuer = issuers.issuers[name]!;
      const subject = await issuer.sign(clerkSessionClaims(issuer.issuer, Math.floor(clock.now() / 1000), { azp: APP, sub: user }));
      expect((await tollgate.exchange(subject)).json).toEqual({ error: 'invalid_grant', error_description: 'the session behind the subject token has ended' });
    }
  });

  it('user.deleted ends every session of that user, under each trust entry, and nobody else', async () => {
    const user = `user_${randomBytes(6).toString('hex')}`;
    const sessions = [await session({ sub: user }), await session({ sub: user }), await session({ sub: user, issuer: 'clerk-eu' })];
    const someoneElse = await session({ sub: 'user_someone_else' });

    const answer = await deliver(signed({ type: 'user.deleted', object: 'event', data: { id: user, object: 'user', deleted: true } }));

    expect(answer.json).toEqual({ received: true, outcome: 'ended' });
    for (const each of sessions) expect(await active(each.access)).toBe(false);
    expect(await active(someoneElse.access)).toBe(true);
  });

  it('ignores a replayed svix-id: acknowledged, nothing changed', async () => {
    const clerkSid = `sess_${randomBytes(10).toString('hex')}`;
    await session({ sid: clerkSid });
    const delivery = signed({ type: 'session.ended', data: { id: clerkSid } });
    expect((await deliver(delivery)).json.outcome).toBe('ended');
    const later = await session();
    const markers = await guardCount();

    const replay = await deliver(delivery);

    expect(replay.status).toBe(200);
    expect(replay.json).toEqual({ received: true, outcome: 'duplicate' });
    expect(await active(later.access)).toBe(true);
    expect(await guardCount()).toBe(markers);
  });

  it('answers 200 and ignores unknown event types', async () => {
    const user = `user_${randomBytes(6).toString('hex')}`;
    const mine = await session({ sub: user });
    const markers = await guardCount();

    const answer = await deliver(signed({ type: 'user.updated', data: { id: user, deleted: true } }));

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ received: true, outcome: 'ignored' });
    expect(await active(mine.access)).toBe(true);
    expect(await guardCount()).toBe(markers);
  });

  describe('refuses, changing nothing', () => {
    const UNSIGNED = { error: 'invalid_signature', error_description: 'webhook signature verification failed' };
    const MALFORMED = { error: 'invalid_request', error_description: 'malformed webhook delivery' };
    const other = randomBytes(32);

    it.each([
      ['an unsigned delivery', (d: ReturnType<typeof signed>) => post(d.body, {}), 401, UNSIGNED],
      ['a delivery without svix-signature', (d: ReturnType<typeof signed>) => post(d.body, { 'svix-id': d.headers['svix-id'], 'svix-timestamp': d.headers['svix-timestamp'] }), 401, UNSIGNED],
      ['a wrong signature', (d: ReturnType<typeof signed>) => post(d.body, { ...d.headers, 'svix-signature': `v1,${randomBytes(32).toString('base64')}` }), 401, UNSIGNED],
      ['a body changed after signing', (d: ReturnType<typeof signed>) => post(Buffer.from(d.body.toString().replace('"data"', '"data" ')), d.headers), 401, UNSIGNED],
      ['a malformed svix-timestamp', (d: ReturnType<typeof signed>) => post(d.body, { ...d.headers, 'svix-timestamp': 'yesterday' }), 400, MALFORMED],
    ])('%s', async (_name, send, status, body) => {
      const clerkSid = `sess_${randomBytes(10).toString('hex')}`;
      const target = await session({ sid: clerkSid });
      const markers = await guardCount();

      const answer = await send(signed({ type: 'session.ended', data: { id: clerkSid } }));

      expect(answer.status).toBe(status);
      expect(answer.json).toEqual(body);
      expect(await active(target.access)).toBe(true);
      expect(await guardCount()).toBe(markers);
    });

    it.each<[string, { key?: Buffer; timestamp?: 'past' | 'future' }, number, unknown]>([
      ['signed with another secret', { key: other }, 401, UNSIGNED],
      ['stale (signed 6 minutes ago)', { timestamp: 'past' }, 401, UNSIGNED],
      ['from the future (6 minutes ahead)', { timestamp: 'future' }, 401, UNSIGNED],
    ])('a delivery %s', async (_name, variant, status, body) => {
      const clerkSid = `sess_${randomBytes(10).toString('hex')}`;
      const target = await session({ sid: clerkSid });
      const now = Math.floor(clock.now() / 1000);
      const timestamp = variant.timestamp === 'past' ? now - 360 : variant.timestamp === 'future' ? now + 360 : undefined;

      const answer = await deliver(signed({ type: 'session.ended', data: { id: clerkSid } }, { key: variant.key, timestamp }));

      expect(answer.status).toBe(status);
      expect(answer.json).toEqual(body);
      expect(await active(target.access)).toBe(true);
    });

    it.each([
      ['not JSON', 'session.ended sess_1'],
      ['an event without data.id', JSON.stringify({ type: 'session.ended', data: {} })],
      ['an event without a type', JSON.stringify({ data: { id: 'sess_1' } })],
    ])('a validly signed body that is %s: 400', async (_name, text) => {
      const id = `msg_malformed_${++deliveries}`;
      const timestamp = String(Math.floor(clock.now() / 1000));
      const body = Buffer.from(text);
      const markers = await guardCount();

      const answer = await post(body, { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': `v1,${svixSignature(secret, id, timestamp, body).toString('base64')}` });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(MALFORMED);
      expect(await guardCount()).toBe(markers);
    });
  });

  it('never echoes the signature or the secret in an answer', async () => {
    const delivery = signed({ type: 'session.ended', data: { id: 'sess_x' } }, { key: randomBytes(32) });
    const answer = await deliver(delivery);
    expect(answer.text).not.toContain(delivery.headers['svix-signature'].slice(3));
    expect(answer.text).not.toContain(secret.toString('base64'));
  });
});

describe('POST /webhooks/clerk without webhooks.clerk in the config', () => {
  let issuers: TestIssuerServer;
  let tollgate: TestTollgate;

  beforeAll(async () => {
    issuers = await startTestIssuers(['clerk']);
    tollgate = await startTestTollgate({
      config: { trust: [{ name: 'clerk', issuer: issuers.issuers.clerk!.issuer, kind: 'user', authorizedParties: [APP], rules: [{ claims: { sub: 'user_*' }, scopes: ['a'] }] }] },
    });
  });
  afterAll(async () => {
    await tollgate?.close();
    await issuers?.close();
  });

  it('is 404', async () => {
    const answer = await request(`${tollgate.baseUrl}/webhooks/clerk`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: 'not_found', error_description: 'no such resource' });
  });
});
