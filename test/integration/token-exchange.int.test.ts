import { createPublicKey } from 'node:crypto';
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { clerkSessionClaims, githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { request } from '../support/http';
import { EXCHANGE } from '../support/tollgate';
import { APP_ORIGIN, REPO, oauthError, sidOf, startTokenSuite, type TokenSuite } from './token-fixtures';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

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

  describe('a bad subject token', () => {
    const notValid = oauthError('invalid_grant', 'subject token is not valid');
    const untrusted = oauthError('invalid_grant', 'subject token issuer is not trusted');

    const cases: [string, (s: TokenSuite) => Promise<string>, { error: string; error_description: string }][] = [
      ['expired beyond the leeway', (s) => s.githubToken({ ttlSeconds: -31 }), oauthError('invalid_grant', 'subject token is expired')],
      ['expired long ago', (s) => s.github.sign(githubActionsClaims(s.github.issuer, s.now() - 3_600, REPO)), oauthError('invalid_grant', 'subject token is expired')],
      ['nbf in the future', (s) => s.githubToken({ extra: { nbf: s.now() + 120 } }), oauthError('invalid_grant', 'subject token is not valid yet')],
      ['iat far in the future', (s) => s.githubToken({ extra: { iat: s.now() + 3_600, nbf: s.now() - 5 } }), oauthError('invalid_grant', 'subject token is not valid yet')],
      ['no exp', (s) => s.githubToken({ extra: { exp: undefined } }), notValid],
      ['a non-numeric exp', (s) => s.githubToken({ extra: { exp: 'tomorrow' } }), notValid],
      ['no sub', (s) => s.githubToken({ extra: { sub: undefined } }), notValid],
      ['an empty sub', (s) => s.githubToken({ extra: { sub: '' } }), oauthError('invalid_grant', 'subject token has no subject')],
      ['a wrong iss', (s) => s.githubToken({ extra: { iss: 'https://token.actions.githubusercontent.com' } }), untrusted],
      ['no iss', (s) => s.githubToken({ extra: { iss: undefined } }), untrusted],
      ['an issuer Tollgate does not trust', (s) => s.issuers.issuers.stranger!.sign(githubActionsClaims(s.issuers.issuers.stranger!.issuer, s.now(), REPO)), untrusted],
      ['Tollgate itself as issuer', (s) => s.githubToken({ extra: { iss: s.tollgate.baseUrl } }), untrusted],
      ['a wrong aud (ci)', (s) => s.githubToken({ audience: 'https://github.com/acme' }), oauthError('invalid_grant', 'subject token audience is not accepted')],
      ['no aud (ci)', (s) => s.githubToken({ extra: { aud: undefined } }), oauthError('invalid_grant', 'subject token audience is not accepted')],
      ['an azp that is not allowed', (s) => s.clerkToken({ azp: 'https://evil.example.com' }), oauthError('invalid_grant', 'subject token was issued to a party that is not allowed')],
      ['a pending Clerk session (sts)', (s) => s.clerkToken({ pending: true }), oauthError('invalid_grant', 'the session behind the subject token is pending')],
      ['an unknown kid', (s) => s.github.signWithUnpublishedKey(githubActionsClaims(s.github.issuer, s.now(), REPO)), notValid],
      ['a published kid but another key', async (s) => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(githubActionsClaims(s.github.issuer, s.now(), REPO)).setProtectedHeader({ alg: 'RS256', kid: s.github.currentKey().kid }).sign(privateKey);
      }, notValid],
      ['an embedded jwk header (keys come only from the JWKS)', async (s) => {
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        return new SignJWT(githubActionsClaims(s.github.issuer, s.now(), REPO)).setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(publicKey) }).sign(privateKey);
      }, notValid],
      ['alg none', async (s) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(githubActionsClaims(s.github.issuer, s.now(), REPO))}.`, notValid],
      ['HS256 signed with the public key', async (s) => {
        const pem = createPublicKey({ key: s.github.currentKey().publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
        return new SignJWT(githubActionsClaims(s.github.issuer, s.now(), REPO)).setProtectedHeader({ alg: 'HS256', kid: s.github.currentKey().kid }).sign(new TextEncoder().encode(pem));
      }, notValid],
      ['HS256 signed with the JWK as secret', async (s) =>
        new SignJWT(githubActionsClaims(s.github.issuer, s.now(), REPO)).setProtectedHeader({ alg: 'HS256', kid: s.github.currentKey().kid }).sign(new TextEncoder().encode(JSON.stringify(s.github.currentKey().publicJwk))),
      notValid],
      ['a tampered payload', async (s) => {
        const [header, payload, signature] = (await s.githubToken({ repositoryId: '75' })).split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
        return `${header}.${b64({ ...claims, repository_id: '74' })}.${signature}`;
      }, notValid],
      ['a payload that is not JSON', async (s) => {
        const [header, , signature] = (await s.githubToken()).split('.');
        return `${header}.${Buffer.from('not json').toString('base64url')}.${signature}`;
      }, oauthError('invalid_grant', 'subject token is not a signed JWT')],
      ['not a JWT at all', async () => 'not-a-jwt', oauthError('invalid_grant', 'subject token is not a signed JWT')],
      ['a JWE-shaped token', async () => 'a.b.c.d.e', oauthError('invalid_grant', 'subject token is not a signed JWT')],
      ['a Tollgate access token', async (s) => (await s.session('ci')).access_token, oauthError('invalid_grant', 'access tokens are not accepted as subject tokens')],
      ['a Tollgate refresh token', async (s) => (await s.session('user')).refresh_token, oauthError('invalid_grant', 'subject token is not a signed JWT')],
      ['a token no rule matches', (s) => s.githubToken({ repository: 'evil/app', repositoryId: '666', ownerId: '667' }), oauthError('invalid_grant', 'no trust rule grants a scope to this subject')],
      ['a Clerk token without the role', (s) => s.clerkToken({ role: 'viewer' }), oauthError('invalid_grant', 'no trust rule grants a scope to this subject')],
      ['a GitHub token signed by the Clerk issuer key', (s) => s.clerk.sign(githubActionsClaims(s.github.issuer, s.now(), REPO)), notValid],
    ];

    it.each(cases)('%s: invalid_grant with a fixed description, nothing created', async (_name, make, expected) => {
      const subject = await make(suite);
      const before = await suite.counts();

      const answer = await suite.tollgate.exchange(subject);

      expect(answer.status).toBe(400);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.json).toEqual(expected);
      expect(await suite.counts()).toEqual(before);
    });
  });

  describe('a malformed request', () => {
    const tokenUrl = () => `${suite.tollgate.baseUrl}/token`;

    it.each([
      ['an unsupported grant_type', { grant_type: 'password', username: 'a', password: 'b' }, oauthError('unsupported_grant_type', 'grant_type is not supported')],
      ['the client_credentials grant', { grant_type: 'client_credentials' }, oauthError('unsupported_grant_type', 'grant_type is not supported')],
      ['no grant_type', { subject_token: 'x' }, oauthError('invalid_request', 'missing grant_type')],
      ['no subject_token', { ...EXCHANGE }, oauthError('invalid_request', 'missing subject_token')],
      ['an empty subject_token', { ...EXCHANGE, subject_token: '' }, oauthError('invalid_request', 'missing subject_token')],
      ['no subject_token_type', { grant_type: EXCHANGE.grant_type, subject_token: 'x' }, oauthError('invalid_request', 'missing subject_token_type')],
      ['an unsupported subject_token_type', { ...EXCHANGE, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }, oauthError('invalid_request', 'unsupported subject_token_type')],
      ['an access token as subject_token_type', { ...EXCHANGE, subject_token: 'x', subject_token_type: ACCESS_TOKEN_TYPE }, oauthError('invalid_request', 'unsupported subject_token_type')],
      ['an actor_token', { ...EXCHANGE, subject_token: 'x', actor_token: 'y', actor_token_type: EXCHANGE.subject_token_type }, oauthError('invalid_request', 'actor_token is not supported')],
      ['a requested_token_type other than access token', { ...EXCHANGE, subject_token: 'x', requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, oauthError('invalid_request', 'only access tokens can be requested')],
      ['a subject_token over 16 KiB', { ...EXCHANGE, subject_token: 'a'.repeat(16_385) }, oauthError('invalid_request', 'subject_token is too long')],
      ['no refresh_token', { grant_type: 'refresh_token' }, oauthError('invalid_request', 'missing refresh_token')],
    ])('%s', async (_name, parameters, expected) => {
      const answer = await suite.tollgate.token(parameters as Record<string, string>);

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(expected);
    });

    it('rejects a duplicated parameter', async () => {
      const subject = await suite.githubToken();
      const before = await suite.counts();

      const answer = await suite.tollgate.token([
        ['grant_type', EXCHANGE.grant_type],
        ['subject_token_type', EXCHANGE.subject_token_type],
        ['subject_token', subject],
        ['subject_token', subject],
      ]);

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_request', 'parameter subject_token is repeated'));
      expect(await suite.counts()).toEqual(before);
    });

    it('accepts a JSON body', async () => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...EXCHANGE, subject_token: await suite.githubToken() }),
      });

      expect(answer.status).toBe(200);
      expect(answer.json.scope).toBe('orders:read deploy');
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['multipart/form-data', 'multipart/form-data; boundary=x'],
      ['no content type', undefined],
    ])('rejects the content type %s', async (_name, contentType) => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: contentType ? { 'content-type': contentType } : {},
        // Bytes, so fetch adds no content type of its own.
        body: Buffer.from(new URLSearchParams({ ...EXCHANGE, subject_token: await suite.githubToken() }).toString()),
      });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_request', 'content type must be application/x-www-form-urlencoded or application/json'));
    });

    it('rejects a body over 32 KiB', async () => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=${encodeURIComponent(EXCHANGE.grant_type)}&subject_token=${'a'.repeat(33 * 1024)}`,
      });

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_request', 'request body is too large'));
    });

    it('rejects a nested JSON body', async () => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...EXCHANGE, subject_token: { jwt: 'x' } }),
      });

      expect(answer.json).toEqual(oauthError('invalid_request', 'parameter subject_token must be a string'));
    });

    it('rejects non-UTF-8 bytes', async () => {
      const answer = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.concat([Buffer.from('grant_type=refresh_token&refresh_token='), Buffer.from([0xff, 0xfe])]),
      });

      expect(answer.json).toEqual(oauthError('invalid_request', 'request body is not valid UTF-8'));
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
