import { newRefreshToken } from '../../src/domain/refresh-token';
import { TestClock } from '../support/clock';
import { postForm, request } from '../support/http';
import { oauthError, sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

const ENDED = oauthError('invalid_grant', 'the session has ended');

describe('POST /revoke (RFC 7009)', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** RFC 7009 §2.2: 200, empty body, never cached. */
  function expectRevokeAnswer(answer: { status: number; text: string; headers: Headers }): void {
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  }

  it('ends the whole session behind an access token', async () => {
    const session = await suite.session('user');

    expectRevokeAnswer(await suite.tollgate.revoke(session.access_token));

    expect((await suite.tollgate.verify(session.access_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.verify(session.refresh_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.refresh(session.refresh_token)).json).toEqual(ENDED);
    expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'revoked', endReason: 'revoked', endedAt: suite.now() });
  });

  it('ends the session behind an expired access token', async () => {
    const session = await suite.session('user');
    clock.advance(901);
    expect((await suite.tollgate.verify(session.access_token)).json).toEqual({ active: false });

    expectRevokeAnswer(await suite.tollgate.revoke(session.access_token));

    expect((await suite.tollgate.refresh(session.refresh_token)).json).toEqual(ENDED);
    expect(await suite.item(sidOf(session.access_token))).toMatchObject({ status: 'revoked' });
  });

  it('ends the session behind a refresh token', async () => {
    const session = await suite.session('ci');

    expectRevokeAnswer(await suite.tollgate.revoke(session.refresh_token));

    expect((await suite.tollgate.verify(session.access_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.refresh(session.refresh_token)).json).toEqual(ENDED);
  });

  it('ends the session behind an already rotated refresh token', async () => {
    const session = await suite.session('user');
    const rotated = (await suite.tollgate.refresh(session.refresh_token)).json;

    expectRevokeAnswer(await suite.tollgate.revoke(session.refresh_token));

    expect((await suite.tollgate.refresh(rotated.refresh_token)).json).toEqual(ENDED);
  });

  it('accepts token_type_hint', async () => {
    const session = await suite.session('user');

    expectRevokeAnswer(await postForm(`${suite.tollgate.baseUrl}/revoke`, { token: session.refresh_token, token_type_hint: 'refresh_token' }));

    expect((await suite.tollgate.refresh(session.refresh_token)).json).toEqual(ENDED);
  });

  it('leaves other sessions of the same subject alone', async () => {
    const one = await suite.session('user');
    const other = await suite.session('user');

    await suite.tollgate.revoke(one.access_token);

    expect((await suite.tollgate.verify(other.access_token)).json.active).toBe(true);
    expect((await suite.tollgate.refresh(other.refresh_token)).status).toBe(200);
  });

  it('answers 200 again for an already revoked session', async () => {
    const session = await suite.session('user');
    await suite.tollgate.revoke(session.access_token);

    expectRevokeAnswer(await suite.tollgate.revoke(session.refresh_token));
    expectRevokeAnswer(await suite.tollgate.revoke(session.access_token));
  });

  it.each([
    ['garbage', async () => 'garbage'],
    ['a well-formed refresh token for no session', async () => newRefreshToken('AAAAAAAAAAAAAAAAAAAAAA').token],
    ['a malformed refresh token', async () => 'tgr_x.y'],
    ['a JWT of another issuer', async (s: TokenSuite) => s.githubToken()],
    ['a JWT-looking string', async () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('answers 200 with an empty body for %s and changes nothing', async (_name, make) => {
    const token = await make(suite);
    const before = await suite.counts();

    expectRevokeAnswer(await suite.tollgate.revoke(token));

    expect(await suite.counts()).toEqual(before);
  });

  it('does not revoke on a forged secret for a real session', async () => {
    const session = await suite.session('user');

    expectRevokeAnswer(await suite.tollgate.revoke(newRefreshToken(sidOf(session.access_token)).token));

    expect((await suite.tollgate.refresh(session.refresh_token)).status).toBe(200);
  });

  it('answers invalid_request when the token parameter is missing', async () => {
    const answer = await postForm(`${suite.tollgate.baseUrl}/revoke`, { token_type_hint: 'access_token' });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_request', 'missing token'));
  });

  it('answers invalid_request for a wrong content type', async () => {
    const answer = await request(`${suite.tollgate.baseUrl}/revoke`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'token=x' });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_request', 'content type must be application/x-www-form-urlencoded or application/json'));
  });
});
