import { decodeJwt, decodeProtectedHeader } from 'jose';
import { TestClock } from '../support/clock';
import { postForm, request } from '../support/http';
import { oauthError, sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

describe('POST /verify (RFC 7662)', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('describes an active access token', async () => {
    const { access_token } = await suite.session('ci', { client_id: 'deploy-bot' });

    const answer = await suite.tollgate.verify(access_token);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual({
      active: true,
      token_type: 'Bearer',
      iss: suite.tollgate.baseUrl,
      aud: 'tollgate',
      sub: 'github:repo:acme/app:ref:refs/heads/main',
      sid: sidOf(access_token),
      jti: decodeJwt(access_token).jti,
      iat: suite.now(),
      exp: suite.now() + 900,
      scope: 'orders:read deploy',
      kind: 'ci',
      client_id: 'deploy-bot',
      gh: expect.objectContaining({ repository: 'acme/app', repository_id: '74', repository_owner_id: '65', ref: 'refs/heads/main' }),
    });
  });

  it('describes an active refresh token', async () => {
    const session = await suite.session('user');
    const sid = sidOf(session.access_token);
    const item = (await suite.item(sid)) as { sidCreatedAt: number; idleExpiry: number; context: { user: { sid: string } } };

    const answer = await postForm(`${suite.tollgate.baseUrl}/verify`, { token: session.refresh_token, token_type_hint: 'refresh_token' });

    expect(answer.json).toEqual({
      active: true,
      token_type: 'refresh_token',
      iss: suite.tollgate.baseUrl,
      aud: 'tollgate',
      sub: 'clerk:user_123',
      sid,
      scope: 'orders:read orders:write',
      kind: 'user',
      client_id: 'clerk',
      iat: item.sidCreatedAt,
      exp: item.idleExpiry,
      user: { sid: item.context.user.sid },
    });
  });

  it('says the new refresh token is active and the rotated one is not, right after a refresh', async () => {
    const session = await suite.session('user');
    // A first look puts the session in /verify's cache.
    expect((await suite.tollgate.verify(session.refresh_token)).json.active).toBe(true);
    clock.advance(1);

    const rotated = (await suite.tollgate.refresh(session.refresh_token)).json;

    const fresh = await suite.tollgate.verify(rotated.refresh_token);
    expect(fresh.json).toMatchObject({ active: true, token_type: 'refresh_token', iat: suite.now() });
    expect((await suite.tollgate.verify(session.refresh_token)).json).toEqual({ active: false });
  });

  it('keeps an access token active until its exp, and inactive from it', async () => {
    const { access_token } = await suite.session('user');
    clock.advance(899);
    expect((await suite.tollgate.verify(access_token)).json.active).toBe(true);

    clock.advance(1);

    expect((await suite.tollgate.verify(access_token)).json).toEqual({ active: false });
  });

  // Forged, confused and expired tokens (each answered only {"active": false}) are the attack suite's table:
  // test/security/access-token-attacks.int.test.ts, which also presents them to the proxy, /revoke and the refresh grant.

  it('says inactive once the session is revoked, for the access and the refresh token', async () => {
    const session = await suite.session('ci');
    expect((await suite.tollgate.verify(session.access_token)).json.active).toBe(true);

    await suite.tollgate.revoke(session.refresh_token);

    expect((await suite.tollgate.verify(session.access_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.verify(session.refresh_token)).json).toEqual({ active: false });
  });

  it('answers invalid_request without a token', async () => {
    const answer = await postForm(`${suite.tollgate.baseUrl}/verify`, { token_type_hint: 'access_token' });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_request', 'missing token'));
  });

  it('accepts a JSON body', async () => {
    const { access_token } = await suite.session('user');

    const answer = await request(`${suite.tollgate.baseUrl}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: access_token }),
    });

    expect(answer.json.active).toBe(true);
  });
});

describe('metadata and JWKS', () => {
  let suite: TokenSuite;

  beforeAll(async () => {
    suite = await startTokenSuite();
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('publishes RFC 8414 authorization server metadata', async () => {
    const base = suite.tollgate.baseUrl;

    const answer = await request(`${base}/.well-known/oauth-authorization-server`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('cache-control')).toBe('public, max-age=300');
    expect(answer.json).toEqual({
      issuer: base,
      token_endpoint: `${base}/token`,
      introspection_endpoint: `${base}/verify`,
      revocation_endpoint: `${base}/revoke`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange', 'refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['deploy', 'orders:admin', 'orders:read', 'orders:write'],
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'],
    });
  });

  it('publishes public signing keys only, each with kid, alg and use "sig"', async () => {
    const answer = await request(`${suite.tollgate.baseUrl}/.well-known/jwks.json`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('public, max-age=300');
    expect(answer.json.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of answer.json.keys) {
      expect(key).toEqual({ kty: 'RSA', n: expect.any(String), e: 'AQAB', kid: expect.any(String), alg: 'RS256', use: 'sig' });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'key_ops']) expect(key).not.toHaveProperty(member);
    }
  });

  it('signs access tokens with a published key', async () => {
    const { access_token } = await suite.session('user');
    const jwks = (await request(`${suite.tollgate.baseUrl}/.well-known/jwks.json`)).json;

    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toContain(decodeProtectedHeader(access_token).kid);
  });
});
