import { createHash } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { newRefreshToken, newSessionId, singleUseSessionId } from '../../src/domain/refresh-token';
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
      idleTimeoutSeconds: 7_200,
      refreshCount: 0,
      refreshHash: hashOf(refresh_token),
      usedHashes: [],
      status: 'active',
      context: { user: { sid: expect.stringMatching(/^sess_/) } },
      upstreamSid: (item!.context as { user: { sid: string } }).user.sid,
      ttl: now + 86_400 + 86_400,
      writeId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
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
      successorBox: expect.stringMatching(/^v1\./),
      rotatedAt: suite.now(),
      idleExpiry: suite.now() + 1_800,
      sidExpiry: suite.now() - 60 + 3_600,
      status: 'active',
      kind: 'ci',
      context: { gh: expect.objectContaining({ repository: 'acme/app' }) },
    });
    // The rotation is one write: the remembered hashes are a shift register, padded with the oldest one it knows.
    expect(new Set(item!.usedHashes as string[])).toEqual(new Set([hashOf(first.refresh_token)]));
    expect(item!.usedHashes).toHaveLength(16);
    expect(item).not.toHaveProperty('upstreamSid');
    expect(item).not.toHaveProperty('clientId');
    const stored = JSON.stringify(item);
    for (const token of [first, second, third]) expect(stored).not.toContain(token.refresh_token.split('.')[1]);
  });

  it('records single use on the session item itself: its sid derived from the jti, kept at least until the token expires (plus leeway)', async () => {
    const jti = `run-${suite.now()}-attempt-1`;
    const before = await suite.counts();

    const answer = await suite.tollgate.exchange(await suite.githubToken({ jti }));

    expect(answer.status).toBe(200);
    const sid = sidOf(answer.json.access_token);
    expect(sid).toBe(singleUseSessionId(`subject#github#${jti}`));
    expect(await suite.counts()).toEqual({ sessions: before.sessions + 1, guards: before.guards });
    expect((await suite.item(sid))!.ttl).toBeGreaterThanOrEqual(suite.now() + 300 + 30);
    expect((await suite.tollgate.exchange(await suite.githubToken({ jti }))).json).toEqual({ error: 'invalid_grant', error_description: 'subject token was already used' });
  });

  it('refreshes a session stored before the one-write refresh (no idleTimeoutSeconds, no write id) in a second write that records its idle timeout', async () => {
    const sid = newSessionId();
    const [older, previous, current] = [newRefreshToken(sid), newRefreshToken(sid), newRefreshToken(sid)];
    const now = suite.now();
    await suite.db.send(
      new PutCommand({
        TableName: suite.tollgate.tables.sessions,
        Item: {
          sid,
          sub: 'github:repo:acme/app:ref:refs/heads/main',
          kind: 'ci',
          trust: 'github',
          scopes: ['orders:read'],
          sidCreatedAt: now - 120,
          sidExpiry: now - 120 + 3_600,
          idleExpiry: now - 60 + 1_800,
          refreshCount: 2,
          refreshHash: current.secretHash,
          prevRefreshHash: previous.secretHash,
          rotatedAt: now - 60,
          usedHashes: [older.secretHash],
          status: 'active',
          context: { gh: { repository: 'acme/app' } },
          ttl: now - 120 + 3_600 + 86_400,
        },
      }),
    );

    const answer = await suite.tollgate.refresh(current.token);

    expect(answer.status).toBe(200);
    const item = await suite.item(sid);
    expect(item).toMatchObject({ refreshCount: 3, idleTimeoutSeconds: 1_800, idleExpiry: now + 1_800, prevRefreshHash: current.secretHash, rotatedAt: now });
    // Shifted by one; the slots the old list did not fill are padded with the new previous hash.
    expect((item!.usedHashes as string[]).slice(0, 2)).toEqual([previous.secretHash, older.secretHash]);
    expect(new Set(item!.usedHashes as string[])).toEqual(new Set([previous.secretHash, older.secretHash, current.secretHash]));
    // The older tokens are still remembered as rotated: presenting one (past the grace window) is reuse.
    clock.advance(11);
    expect((await suite.tollgate.refresh(older.token)).json).toEqual({ error: 'invalid_grant', error_description: 'refresh token was already used' });
    expect(await suite.item(sid)).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse' });
  });

  it('moves a session created under another idle timeout to the configured one at its next refresh (an operator changed the config)', async () => {
    const first = await suite.session('ci');
    const sid = sidOf(first.access_token);
    await suite.db.send(new PutCommand({ TableName: suite.tollgate.tables.sessions, Item: { ...(await suite.item(sid)), idleTimeoutSeconds: 600 } }));
    clock.advance(30);

    expect((await suite.tollgate.refresh(first.refresh_token)).status).toBe(200);

    expect(await suite.item(sid)).toMatchObject({ refreshCount: 1, idleTimeoutSeconds: 1_800, idleExpiry: suite.now() + 1_800 });
  });

  it('writes no marker for a user subject token', async () => {
    const before = await suite.counts();

    await suite.session('user');

    expect(await suite.counts()).toEqual({ sessions: before.sessions + 1, guards: before.guards });
  });
});
