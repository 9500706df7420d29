import { decodeJwt } from 'jose';
import { TestClock } from '../support/clock';
import { oauthError, sidOf, startTokenSuite, type TokenSuite, type TokenBody } from './token-fixtures';

const ENDED = oauthError('invalid_grant', 'the session has ended');
/** Longer than the session cache of /verify (5 s). */
const PAST_CACHE_SECONDS = 6;
const LIFETIME = 600;
const IDLE = 300;
const MAX_REFRESHES = 3;

describe('session timeouts', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({
      clock,
      config: {
        // Longer than the sessions, so only the session end can cap an access token.
        accessTokenTtlSeconds: 900,
        sessions: {
          user: { maxLifetimeSeconds: LIFETIME, idleTimeoutSeconds: IDLE, maxRefreshes: MAX_REFRESHES },
          ci: { maxLifetimeSeconds: LIFETIME, idleTimeoutSeconds: IDLE, maxRefreshes: MAX_REFRESHES },
        },
      },
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** Refreshes and checks the access token never outlives the session's absolute end. */
  async function refresh(token: string, sidExpiry: number): Promise<TokenBody> {
    const answer = await suite.tollgate.refresh(token);
    expect(answer.status).toBe(200);
    const claims = decodeJwt(answer.json.access_token);
    expect(claims.exp).toBeLessThanOrEqual(sidExpiry);
    expect(answer.json.expires_in).toBe(claims.exp! - claims.iat!);
    return answer.json;
  }

  it('caps the first access token at the session end', async () => {
    const first = await suite.session('user');

    expect(first.expires_in).toBe(LIFETIME);
    expect(decodeJwt(first.access_token).exp).toBe(suite.now() + LIFETIME);
  });

  it('ends the session at its absolute lifetime, however active, and refresh never extends it', async () => {
    const first = await suite.session('user');
    const sid = sidOf(first.access_token);
    const { sidExpiry } = (await suite.item(sid)) as { sidExpiry: number };
    expect(sidExpiry).toBe(suite.now() + LIFETIME);

    clock.advance(250);
    const second = await refresh(first.refresh_token, sidExpiry);
    expect(second.expires_in).toBe(LIFETIME - 250);
    clock.advance(250);
    const third = await refresh(second.refresh_token, sidExpiry);
    expect(third.expires_in).toBe(LIFETIME - 500);
    // The idle deadline is stored as `now + idleTimeoutSeconds` (one write cannot take a minimum); the absolute end comes first.
    expect(await suite.item(sid)).toMatchObject({ sidExpiry, idleExpiry: expect.any(Number) });
    expect((await suite.item(sid))!.idleExpiry as number).toBeGreaterThanOrEqual(sidExpiry);

    clock.advance(LIFETIME - 500);
    expect((await suite.tollgate.verify(third.access_token)).json).toEqual({ active: false });

    const answer = await suite.tollgate.refresh(third.refresh_token);

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(ENDED);
    expect(await suite.item(sid)).toMatchObject({ status: 'ended', endReason: 'absolute', endedAt: suite.now(), sidExpiry });
    expect((await suite.tollgate.verify(third.refresh_token)).json).toEqual({ active: false });
  });

  it('ends the session after the idle timeout', async () => {
    const first = await suite.session('ci');
    const sid = sidOf(first.access_token);
    clock.advance(IDLE - 10);
    expect((await suite.tollgate.verify(first.access_token)).json.active).toBe(true);

    clock.advance(10);
    expect((await suite.tollgate.verify(first.access_token)).json).toEqual({ active: false });
    const answer = await suite.tollgate.refresh(first.refresh_token);

    expect(answer.json).toEqual(ENDED);
    expect(await suite.item(sid)).toMatchObject({ status: 'ended', endReason: 'idle', endedAt: suite.now() });
    clock.advance(PAST_CACHE_SECONDS);
    expect((await suite.tollgate.verify(first.access_token)).json).toEqual({ active: false });
  });

  it('moves the idle window with each refresh', async () => {
    const first = await suite.session('user');
    clock.advance(IDLE - 10);
    const second = await refresh(first.refresh_token, Number.MAX_SAFE_INTEGER);
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ idleExpiry: suite.now() + IDLE });

    clock.advance(IDLE - 10);

    expect((await suite.tollgate.refresh(second.refresh_token)).status).toBe(200);
  });

  it(`ends the session after maxRefreshes (${MAX_REFRESHES}) refreshes`, async () => {
    const first = await suite.session('user');
    const sid = sidOf(first.access_token);
    let current = first;
    for (let i = 0; i < MAX_REFRESHES; i++) {
      clock.advance(1);
      current = await refresh(current.refresh_token, Number.MAX_SAFE_INTEGER);
    }
    expect(await suite.item(sid)).toMatchObject({ status: 'active', refreshCount: MAX_REFRESHES });

    const answer = await suite.tollgate.refresh(current.refresh_token);

    expect(answer.json).toEqual(ENDED);
    expect(await suite.item(sid)).toMatchObject({ status: 'ended', endReason: 'max_refreshes', refreshCount: MAX_REFRESHES });
    clock.advance(PAST_CACHE_SECONDS);
    expect((await suite.tollgate.verify(current.access_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.refresh(current.refresh_token)).json).toEqual(ENDED);
  });

  it('treats a session past its retention as absent, whatever the TTL deletion lag', async () => {
    const first = await suite.session('user');
    const item = (await suite.item(sidOf(first.access_token))) as { ttl: number; sidExpiry: number };
    expect(item.ttl).toBe(item.sidExpiry + 86_400);

    clock.advance(LIFETIME + 86_400);

    expect(await suite.item(sidOf(first.access_token))).toBeDefined();
    expect((await suite.tollgate.refresh(first.refresh_token)).json).toEqual(oauthError('invalid_grant', 'refresh token is invalid'));
    expect((await suite.tollgate.verify(first.refresh_token)).json).toEqual({ active: false });
  });
});
