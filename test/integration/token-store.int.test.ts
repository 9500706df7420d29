import { createHash } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { TestClock } from '../support/clock';
import { sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

const hashOf = (refreshToken: string) => createHash('sha256').update(refreshToken.split('.')[1]!).digest('base64url');

describe('the stored session item', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('holds the session fields and only the hash of the refresh token', async () => {
    const { access_token, refresh_token } = await suite.session('user', { client_id: 'web-app' });
    const sid = sidOf(access_token);
    const now = suite.now();

    const item = await suite.item(sid);

    expect(item).toEqual({
      sid,
      sub: 'clerk:user_123',
      kind: 'user',
      trust: 'clerk',
      scopes: ['orders:read', 'orders:write'],
      clientId: 'web-app',
      sidCreatedAt: now,
      sidExpiry: now + 86_400,
      idleExpiry: now + 7_200,
      refreshCount: 0,
      refreshHash: hashOf(refresh_token),
      usedHashes: [],
      status: 'active',
      context: { user: { sid: expect.stringMatching(/^sess_/) } },
      upstreamSid: (item!.context as { user: { sid: string } }).user.sid,
      ttl: now + 86_400 + 86_400,
    });
    const stored = JSON.stringify(item);
    expect(stored).not.toContain(refresh_token);
    expect(stored).not.toContain(refresh_token.split('.')[1]);
    expect(stored).not.toContain(access_token.split('.')[2]);
  });

  it('records the rotation: new hash, previous hash, time, count; still never a token', async () => {
    const first = await suite.session('ci');
    const sid = sidOf(first.access_token);
    clock.advance(60);

    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    const third = (await suite.tollgate.refresh(second.refresh_token)).json;

    const item = await suite.item(sid);
    expect(item).toMatchObject({
      refreshCount: 2,
      refreshHash: hashOf(third.refresh_token),
      prevRefreshHash: hashOf(second.refresh_token),
      usedHashes: [hashOf(first.refresh_token)],
      rotatedAt: suite.now(),
      idleExpiry: suite.now() + 1_800,
      sidExpiry: suite.now() - 60 + 3_600,
      status: 'active',
      kind: 'ci',
      context: { gh: expect.objectContaining({ repository: 'acme/app' }) },
    });
    expect(item).not.toHaveProperty('upstreamSid');
    expect(item).not.toHaveProperty('clientId');
    const stored = JSON.stringify(item);
    for (const token of [first, second, third]) expect(stored).not.toContain(token.refresh_token.split('.')[1]);
  });

  it('writes a single-use marker for a ci subject token, keyed by its jti, until it expires (plus leeway)', async () => {
    const jti = `run-${suite.now()}-attempt-1`;
    const before = await suite.counts();

    expect((await suite.tollgate.exchange(await suite.githubToken({ jti }))).status).toBe(200);

    expect(await suite.counts()).toEqual({ sessions: before.sessions + 1, guards: before.guards + 1 });
    const marker = await suite.db.send(new GetCommand({ TableName: suite.tollgate.tables.guards, Key: { pk: `subject#github#${jti}` }, ConsistentRead: true }));
    expect(marker.Item).toEqual({ pk: `subject#github#${jti}`, ttl: suite.now() + 300 + 30 });
  });

  it('writes no marker for a user subject token', async () => {
    const before = await suite.counts();

    await suite.session('user');

    expect(await suite.counts()).toEqual({ sessions: before.sessions + 1, guards: before.guards });
  });
});
