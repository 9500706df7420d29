import { decodeJwt } from 'jose';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { request } from '../support/http';
import { oauthError, sidOf, startTokenSuite, type TokenBody, type TokenSuite } from './token-fixtures';

/** RFC 9449 §5 at POST /token, over HTTP against the local server: binding at exchange, bound refresh, introspection. */
describe('POST /token with DPoP (RFC 9449 §5)', () => {
  let suite: TokenSuite;
  const clock = new TestClock();
  let key: DpopTestKey;
  let tokenUrl: string;

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
    key = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    tokenUrl = `${suite.tollgate.baseUrl}/token`;
  });

  afterAll(async () => {
    await suite?.close();
  });

  const proofFor = (with_: DpopTestKey = key) => with_.proof({ htm: 'POST', htu: tokenUrl });

  async function exchange(kind: 'ci' | 'user' = 'user', with_: DpopTestKey = key): Promise<TokenBody> {
    const subject = kind === 'ci' ? await suite.githubToken() : await suite.clerkToken();
    const answer = await suite.tollgate.token({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', subject_token: subject }, { DPoP: await proofFor(with_) });
    if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
    return answer.json;
  }

  it('binds an exchange with a proof: token_type DPoP, cnf.jkt in the access token, jkt on the session', async () => {
    const subject = await suite.githubToken();

    const answer = await suite.tollgate.token(
      { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', subject_token: subject },
      { DPoP: await proofFor() },
    );

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      access_token: expect.any(String),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'DPoP',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^tgr_/),
      scope: 'orders:read deploy',
    });
    expect(answer.headers.get('dpop-nonce')).toBeNull();
    expect(decodeJwt(answer.json.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(await suite.item(sidOf(answer.json.access_token))).toMatchObject({ jkt: key.jkt });
  });

  it('leaves an exchange without a proof unbound, as before', async () => {
    const body = await suite.session('user');

    expect(body.token_type).toBe('Bearer');
    expect(decodeJwt(body.access_token)).not.toHaveProperty('cnf');
    expect(await suite.item(sidOf(body.access_token))).not.toHaveProperty('jkt');
  });

  it('reports cnf.jkt and token_type DPoP at /verify for a bound access token and its refresh token (RFC 9449 §6.2)', async () => {
    const body = await exchange();

    const access = await suite.tollgate.verify(body.access_token);
    const refresh = await suite.tollgate.verify(body.refresh_token);

    expect(access.json).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt }, sid: sidOf(body.access_token) });
    expect(refresh.json).toMatchObject({ active: true, token_type: 'refresh_token', cnf: { jkt: key.jkt } });
  });

  it('refreshes a bound session with a proof by its key, and the new tokens stay bound', async () => {
    const first = await exchange();
    clock.advance(30);

    const answer = await suite.tollgate.token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }, { DPoP: await proofFor() });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ token_type: 'DPoP', refresh_token: expect.stringMatching(/^tgr_/) });
    expect(decodeJwt(answer.json.access_token)).toMatchObject({ cnf: { jkt: key.jkt }, sid: sidOf(first.access_token) });
    expect(await suite.item(sidOf(first.access_token))).toMatchObject({ refreshCount: 1, jkt: key.jkt });
  });

  it('keeps separate sessions bound to separate keys', async () => {
    const other = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    const mine = await exchange('user', key);
    const theirs = await exchange('user', other);

    expect(decodeJwt(mine.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(decodeJwt(theirs.access_token).cnf).toEqual({ jkt: other.jkt });
    expect((await suite.tollgate.token({ grant_type: 'refresh_token', refresh_token: theirs.refresh_token }, { DPoP: await proofFor(other) })).status).toBe(200);
  });

  it('advertises the proof algorithms in the metadata (RFC 9449 §5.1)', async () => {
    const answer = await request(`${suite.tollgate.baseUrl}/.well-known/oauth-authorization-server`);

    expect(answer.json.dpop_signing_alg_values_supported).toEqual(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']);
  });

  it('accepts proofs made with every advertised algorithm', async () => {
    for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']) {
      const algKey = await DpopTestKey.generate({ alg, nowSeconds: () => suite.now() });
      const body = await exchange('user', algKey);
      expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: algKey.jkt });
    }
  });

  it('answers an unbound refresh with a proof with invalid_grant, and rotates nothing', async () => {
    const unbound = await suite.session('user');

    const answer = await suite.tollgate.token({ grant_type: 'refresh_token', refresh_token: unbound.refresh_token }, { DPoP: await proofFor() });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_grant', 'the session is not bound to a DPoP key'));
    expect(await suite.item(sidOf(unbound.access_token))).toMatchObject({ status: 'active', refreshCount: 0 });
    expect((await suite.tollgate.refresh(unbound.refresh_token)).json.token_type).toBe('Bearer');
  });
});
