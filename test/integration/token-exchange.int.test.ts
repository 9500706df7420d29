import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { clerkSessionClaims, githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { request } from '../support/http';
import { EXCHANGE } from '../support/tollgate';
import { APP_ORIGIN, REPO, oauthError, sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

describe('POST /token: token exchange (RFC 8693)', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock, extraIssuers: ['stranger'] });
  });

  afterAll(async () => {
    await suite?.close();
  });

  describe('a GitHub Actions token', () => {
    it('gets an access token, a refresh token and the scopes its rules grant', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken());

      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('pragma')).toBe('no-cache');
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.json).toEqual({
        access_token: expect.any(String),
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^tgr_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/),
        scope: 'orders:read deploy',
      });
    });

    it('issues an RFC 9068 access token that verifies offline with the published JWKS', async () => {
      const { json } = await suite.tollgate.exchange(await suite.githubToken({ environment: 'prod' }));
      const jwks = (await request(`${suite.tollgate.baseUrl}/.well-known/jwks.json`)).json;

      const { payload, protectedHeader } = await jwtVerify(json.access_token, createLocalJWKSet(jwks), {
        issuer: suite.tollgate.baseUrl,
        audience: 'tollgate',
        typ: 'at+jwt',
        currentDate: new Date(clock.now()),
      });

      expect(protectedHeader).toEqual({ alg: 'RS256', kid: jwks.keys[0].kid, typ: 'at+jwt' });
      expect(payload).toEqual({
        iss: suite.tollgate.baseUrl,
        aud: 'tollgate',
        sub: 'github:repo:acme/app:environment:prod',
        sid: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        iat: suite.now(),
        exp: suite.now() + 900,
        scope: 'orders:read deploy',
        kind: 'ci',
        client_id: 'github',
        gh: {
          repository: 'acme/app',
          repository_id: '74',
          repository_owner: 'acme',
          repository_owner_id: '65',
          ref: 'refs/heads/main',
          workflow: 'deploy',
          job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
          run_id: '9001',
          run_attempt: '1',
          environment: 'prod',
          actor: 'octocat',
          event_name: 'push',
          sha: 'd6fde92930d4715a2b49857d24b940956b26d2d3',
        },
      });
    });

    it('matches on repository ids, so the immutable sub format changes nothing', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken({ immutableSub: true }));

      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token).sub).toBe('github:repo:acme@65/app@74:ref:refs/heads/main');
    });

    it('grants only the scopes of the rules that match (another branch)', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken({ ref: 'refs/heads/dev' }));

      expect(answer.json.scope).toBe('orders:read');
    });

    it('is single use: a replay is invalid_grant', async () => {
      const subject = await suite.githubToken();
      expect((await suite.tollgate.exchange(subject)).status).toBe(200);

      const replay = await suite.tollgate.exchange(subject);

      expect(replay.status).toBe(400);
      expect(replay.json).toEqual(oauthError('invalid_grant', 'subject token was already used'));
    });

    it('is single use by its hash when it has no jti', async () => {
      const claims = githubActionsClaims(suite.github.issuer, suite.now(), REPO);
      delete claims.jti;
      const subject = await suite.github.sign(claims);
      expect((await suite.tollgate.exchange(subject)).status).toBe(200);

      expect((await suite.tollgate.exchange(subject)).json).toEqual(oauthError('invalid_grant', 'subject token was already used'));
    });

    it('accepts the id_token subject token type', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken(), { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' });

      expect(answer.status).toBe(200);
    });
  });

  describe('a Clerk session token', () => {
    it('gets the scopes its role and organisation role earn, with the user context', async () => {
      const subject = await suite.clerkToken({ sub: 'user_2abc', sid: 'sess_42', orgId: 'org_7', orgRole: 'org:admin', orgSlug: 'acme' });

      const answer = await suite.tollgate.exchange(subject);

      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        access_token: expect.any(String),
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^tgr_/),
        scope: 'orders:read orders:write orders:admin',
      });
      expect(decodeJwt(answer.json.access_token)).toMatchObject({
        sub: 'clerk:user_2abc',
        kind: 'user',
        client_id: 'clerk',
        user: { sid: 'sess_42', org: { id: 'org_7', role: 'org:admin', slug: 'acme' } },
      });
    });

    it('finds the JWKS by OpenID discovery when jwksUri is omitted', async () => {
      // The Clerk trust has no jwksUri; the GitHub trust names one, so it never needs discovery.
      expect((await suite.tollgate.exchange(await suite.clerkToken())).status).toBe(200);

      expect(suite.issuers.fetches.get('/clerk/.well-known/openid-configuration')).toBeGreaterThanOrEqual(1);
      expect(suite.issuers.fetches.get('/clerk/.well-known/jwks.json')).toBeGreaterThanOrEqual(1);
      expect(suite.issuers.fetches.get('/github/.well-known/openid-configuration')).toBeUndefined();
    });

    it('is reusable by default (user issuers are not single use)', async () => {
      const subject = await suite.clerkToken();

      const first = await suite.tollgate.exchange(subject);
      const second = await suite.tollgate.exchange(subject);

      expect([first.status, second.status]).toEqual([200, 200]);
      expect(sidOf(first.json.access_token)).not.toBe(sidOf(second.json.access_token));
    });

    it('records the impersonating actor (act)', async () => {
      const subject = await suite.clerkToken({ extra: { act: { iss: 'https://dashboard.clerk.com', sid: 'sess_456', sub: 'user_456' } } });

      const { json } = await suite.tollgate.exchange(subject);

      expect(decodeJwt(json.access_token).act).toEqual({ sub: 'user_456', iss: 'https://dashboard.clerk.com' });
    });

    it('is accepted without azp (checked only when present)', async () => {
      const claims = clerkSessionClaims(suite.clerk.issuer, suite.now(), { role: 'api-client' });
      delete claims.azp;

      expect((await suite.tollgate.exchange(await suite.clerk.sign(claims))).status).toBe(200);
    });

    it('is accepted when it expired less than the leeway ago', async () => {
      const subject = await suite.clerk.sign(clerkSessionClaims(suite.clerk.issuer, suite.now() - 80, { azp: APP_ORIGIN, role: 'api-client' }));

      expect((await suite.tollgate.exchange(subject)).status).toBe(200);
    });

    it('accepts an empty Clerk sid without failing the store write', async () => {
      const answer = await suite.tollgate.exchange(await suite.clerkToken({ sid: '' }));

      expect(answer.status).toBe(200);
      expect(await suite.item(sidOf(answer.json.access_token))).not.toHaveProperty('upstreamSid');
    });
  });

  describe('scope and audience', () => {
    it('narrows to a requested subset', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken(), { scope: 'deploy' });

      expect(answer.status).toBe(200);
      expect(answer.json.scope).toBe('deploy');
      expect(decodeJwt(answer.json.access_token).scope).toBe('deploy');
    });

    it('binds the session to the narrowed scope, so refresh cannot widen it back', async () => {
      const { json } = await suite.tollgate.exchange(await suite.githubToken(), { scope: 'deploy' });

      const refreshed = await suite.tollgate.refresh(json.refresh_token);
      expect(refreshed.json.scope).toBe('deploy');

      expect((await suite.tollgate.refresh(refreshed.json.refresh_token, { scope: 'orders:read' })).json).toEqual(
        oauthError('invalid_scope', 'the requested scope exceeds what was granted'),
      );
    });

    it('refuses to widen: invalid_scope, nothing created, the single use not spent', async () => {
      const subject = await suite.githubToken({ ref: 'refs/heads/dev' });
      const before = await suite.counts();

      const answer = await suite.tollgate.exchange(subject, { scope: 'orders:read deploy' });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_scope', 'the requested scope exceeds what was granted'));
      expect(await suite.counts()).toEqual(before);
      expect((await suite.tollgate.exchange(subject, { scope: 'orders:read' })).status).toBe(200);
    });

    it.each([
      ['a tab', 'orders:read\tdeploy'],
      ['a double quote', 'orders:"read"'],
      ['non-ASCII', 'commandes:lecture\u00e9'],
    ])('rejects a malformed scope (%s) as invalid_scope', async (_name, scope) => {
      const answer = await suite.tollgate.exchange(await suite.githubToken(), { scope });

      expect(answer.json).toEqual(oauthError('invalid_scope', 'scope is malformed'));
    });

    it('accepts its own audience', async () => {
      expect((await suite.tollgate.exchange(await suite.githubToken(), { audience: 'tollgate' })).status).toBe(200);
    });

    it('answers invalid_target for a foreign audience', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken(), { audience: 'https://api.other.example.com' });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_target', 'the requested audience is not served by this token service'));
    });

    it('answers invalid_target for an RFC 8707 resource indicator instead of ignoring it', async () => {
      const answer = await suite.tollgate.exchange(await suite.githubToken(), { resource: 'https://api.example.com/' });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_target', 'resource indicators are not supported'));
    });
  });

  // Bad subject tokens (forged, confused, expired, out of policy) are the attack suite's table:
  // test/security/subject-token-attacks.int.test.ts, reproduced in docs/security.md.

  describe('request formats', () => {
    // Malformed and abusive requests (missing or repeated parameters, content types, sizes, nesting,
    // encodings) are the attack suite's table: test/security/request-abuse.int.test.ts.
    const tokenUrl = () => `${suite.tollgate.baseUrl}/token`;

    it('accepts a JSON body', async () => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...EXCHANGE, subject_token: await suite.githubToken() }),
      });

      expect(answer.status).toBe(200);
      expect(answer.json.scope).toBe('orders:read deploy');
    });
  });

  describe('client_id', () => {
    it.each([
      ['non-ASCII', 'wéb-app'],
      ['a tab', 'web\tapp'],
      ['over 255 characters', 'a'.repeat(256)],
    ])('is refused when malformed (%s): RFC 6749 client-id is VSCHAR', async (_name, clientId) => {
      const before = await suite.counts();

      const answer = await suite.tollgate.exchange(await suite.githubToken(), { client_id: clientId });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_request', 'client_id is malformed'));
      expect(await suite.counts()).toEqual(before);
    });

    it('accepts a URL as client_id (public clients often use one)', async () => {
      const answer = await suite.tollgate.exchange(await suite.clerkToken(), { client_id: 'https://app.example.com/client.json' });

      expect(answer.status).toBe(200);
    });

    it('is optional, recorded on the session and carried in the access token', async () => {
      const { json } = await suite.tollgate.exchange(await suite.clerkToken(), { client_id: 'web-app' });

      expect(decodeJwt(json.access_token).client_id).toBe('web-app');
      expect(await suite.item(sidOf(json.access_token))).toMatchObject({ clientId: 'web-app' });
    });
  });

  it('never answers with the subject token or a stack in an error', async () => {
    const subject = await suite.githubToken({ audience: 'nope' });

    const answer = await suite.tollgate.exchange(subject);

    expect(answer.text).not.toContain(subject.split('.')[1]);
    expect(answer.text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('decodes the access token header as RFC 9068 requires', async () => {
    const { json } = await suite.tollgate.exchange(await suite.githubToken());

    expect(decodeProtectedHeader(json.access_token).typ).toBe('at+jwt');
  });
});
