import { decodeJwt } from 'jose';
import { newRefreshToken } from '../../src/domain/refresh-token';
import { TestClock } from '../support/clock';
import { oauthError, sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

const ALREADY_USED = oauthError('invalid_grant', 'refresh token was already used');
const INVALID = oauthError('invalid_grant', 'refresh token is invalid');
const ENDED = oauthError('invalid_grant', 'the session has ended');
/** Longer than the session cache of /verify (5 s), so a verify after it reads the store. */
const PAST_CACHE_SECONDS = 6;

describe('POST /token: refresh_token grant (rotation, RFC 9700 §4.14)', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('returns a new access token and a new refresh token, with no-store', async () => {
    const first = await suite.session('user');
    clock.advance(30);

    const answer = await suite.tollgate.refresh(first.refresh_token);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^tgr_/),
      scope: 'orders:read orders:write',
    });
    expect(answer.json.refresh_token).not.toBe(first.refresh_token);
    expect(answer.json.access_token).not.toBe(first.access_token);
    expect(decodeJwt(answer.json.access_token)).toMatchObject({ sid: sidOf(first.access_token), sub: 'clerk:user_123', iat: suite.now() });
  });

  it('answers the previous refresh token within the grace window with the same successor and a fresh access token, without revoking the session', async () => {
    const first = await suite.session('user');
    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    clock.advance(5);

    const retry = await suite.tollgate.refresh(first.refresh_token);

    expect(retry.status).toBe(200);
    expect(retry.json.refresh_token).toBe(second.refresh_token);
    expect(decodeJwt(retry.json.access_token)).toMatchObject({ sid: sidOf(first.access_token), iat: suite.now() });
    expect((await suite.tollgate.verify(retry.json.access_token)).json.active).toBe(true);
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'active', refreshCount: 1 });
    expect((await suite.tollgate.refresh(second.refresh_token)).status).toBe(200);
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'active', refreshCount: 2 });
  });

  it('refuses the token two rotations back within the grace window of the first rotation, revoking the session (its successor was rotated in turn)', async () => {
    const first = await suite.session('user');
    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    const third = (await suite.tollgate.refresh(second.refresh_token)).json;

    expect((await suite.tollgate.refresh(first.refresh_token)).json).toEqual(ALREADY_USED);

    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse' });
    expect((await suite.tollgate.refresh(third.refresh_token)).json).toEqual(ENDED);
  });

  it('revokes the session when the previous refresh token is reused after the grace window', async () => {
    const first = await suite.session('user');
    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    clock.advance(11);

    const reuse = await suite.tollgate.refresh(first.refresh_token);

    expect(reuse.json).toEqual(ALREADY_USED);
    expect((await suite.tollgate.verify(second.access_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.verify(second.refresh_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.refresh(second.refresh_token)).json).toEqual(ENDED);
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse', endedAt: suite.now() });
  });

  it('revokes the session when a token from two rotations back is reused, even at once', async () => {
    const first = await suite.session('ci');
    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    const third = (await suite.tollgate.refresh(second.refresh_token)).json;

    expect((await suite.tollgate.refresh(first.refresh_token)).json).toEqual(ALREADY_USED);

    expect((await suite.tollgate.refresh(third.refresh_token)).json).toEqual(ENDED);
    clock.advance(PAST_CACHE_SECONDS);
    expect((await suite.tollgate.verify(third.access_token)).json).toEqual({ active: false });
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse' });
  });

  it('detects reuse of any of the last 16 rotated tokens', async () => {
    const tokens = [(await suite.session('user')).refresh_token];
    for (let i = 0; i < 17; i++) tokens.push((await suite.tollgate.refresh(tokens.at(-1)!)).json.refresh_token);
    // tokens[17] is current, tokens[16] the previous one (grace window), tokens[0..15] the 16 older ones kept: tokens[0] is the oldest.

    expect((await suite.tollgate.refresh(tokens[0]!)).json).toEqual(ALREADY_USED);

    expect((await suite.tollgate.refresh(tokens[17]!)).json).toEqual(ENDED);
  });

  it('answers 20 concurrent refreshes of one token with one rotation: the same successor for all, the session intact', async () => {
    const first = await suite.session('user');

    const answers = await Promise.all(Array.from({ length: 20 }, () => suite.tollgate.refresh(first.refresh_token)));

    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((answer) => answer.json.refresh_token)).size).toBe(1);
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ status: 'active', refreshCount: 1 });
    const next = await suite.tollgate.refresh(answers[0]!.json.refresh_token);
    expect(next.status).toBe(200);
    expect((await suite.tollgate.verify(next.json.access_token)).json.active).toBe(true);
  });

  it.each([
    ['garbage', () => 'not-a-refresh-token'],
    ['an access token', () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['a well-formed token for no session', () => newRefreshToken('AAAAAAAAAAAAAAAAAAAAAA').token],
    ['a truncated token', () => 'tgr_AAAAAAAAAAAAAAAAAAAAAA.abc'],
  ])('answers invalid_grant for %s', async (_name, make) => {
    const answer = await suite.tollgate.refresh(make());

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(INVALID);
  });

  it('answers invalid_grant for a forged secret without harming the session', async () => {
    const first = await suite.session('user');
    const forged = newRefreshToken(sidOf(first.access_token)).token;

    expect((await suite.tollgate.refresh(forged)).json).toEqual(INVALID);

    expect((await suite.tollgate.refresh(first.refresh_token)).status).toBe(200);
  });

  describe('scope', () => {
    it('narrows the access token without shrinking the session', async () => {
      const first = await suite.session('user');

      const narrow = await suite.tollgate.refresh(first.refresh_token, { scope: 'orders:read' });
      expect(narrow.json.scope).toBe('orders:read');
      expect(decodeJwt(narrow.json.access_token).scope).toBe('orders:read');

      const full = await suite.tollgate.refresh(narrow.json.refresh_token);
      expect(full.json.scope).toBe('orders:read orders:write');
      expect(await suite.item(sidOf(first.access_token))).toMatchObject({ scopes: ['orders:read', 'orders:write'] });
    });

    it('refuses to widen with invalid_scope, and the refresh token stays usable', async () => {
      const first = await suite.session('user');

      const answer = await suite.tollgate.refresh(first.refresh_token, { scope: 'orders:read orders:admin' });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_scope', 'the requested scope exceeds what was granted'));
      expect((await suite.tollgate.refresh(first.refresh_token)).status).toBe(200);
    });
  });

  describe('client_id', () => {
    it('is enforced on refresh once recorded', async () => {
      const first = await suite.session('user', { client_id: 'web-app' });

      const other = await suite.tollgate.refresh(first.refresh_token, { client_id: 'other-app' });

      expect(other.status).toBe(400);
      expect(other.json).toEqual(INVALID);
      const same = await suite.tollgate.refresh(first.refresh_token, { client_id: 'web-app' });
      expect(same.status).toBe(200);
      expect(decodeJwt(same.json.access_token).client_id).toBe('web-app');
    });

    it('is never required: a refresh without client_id keeps the recorded one', async () => {
      const first = await suite.session('user', { client_id: 'web-app' });

      const answer = await suite.tollgate.refresh(first.refresh_token);

      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token).client_id).toBe('web-app');
    });

    it('cannot be added on refresh to a session that had none', async () => {
      const first = await suite.session('user');

      const answer = await suite.tollgate.refresh(first.refresh_token, { client_id: 'web-app' });

      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token).client_id).toBe('clerk');
    });
  });

  it('keeps the context claims on refreshed access tokens', async () => {
    const first = await suite.session('ci');

    const { json } = await suite.tollgate.refresh(first.refresh_token);

    expect(decodeJwt(json.access_token)).toMatchObject({ kind: 'ci', gh: { repository: 'acme/app', repository_id: '74' } });
  });
});
