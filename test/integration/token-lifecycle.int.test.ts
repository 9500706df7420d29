import { githubActionsClaims, clerkSessionClaims } from '../../src/local/dev-claims';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';

describe('token life cycle over HTTP', () => {
  let issuers: TestIssuerServer;
  let tollgate: TestTollgate;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    tollgate = await startTestTollgate({
      config: {
        trust: [
          {
            name: 'github',
            issuer: issuers.issuers.github!.issuer,
            kind: 'ci',
            audiences: ['tollgate'],
            rules: [{ claims: { repository_id: '74', ref: 'refs/heads/main' }, scopes: ['deploy', 'orders:read'] }],
          },
          {
            name: 'clerk',
            issuer: issuers.issuers.clerk!.issuer,
            kind: 'user',
            authorizedParties: ['https://app.example.com'],
            rules: [{ claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read', 'orders:write'] }],
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await tollgate?.close();
    await issuers?.close();
  });

  it('exchanges a GitHub Actions token, verifies, refreshes and revokes', async () => {
    const subject = await issuers.issuers.github!.sign(
      githubActionsClaims(issuers.issuers.github!.issuer, now(), { repositoryId: '74', ownerId: '65' }),
    );

    const exchanged = await tollgate.exchange(subject);
    expect(exchanged.status).toBe(200);
    expect(exchanged.headers.get('cache-control')).toBe('no-store');
    expect(exchanged.json).toMatchObject({
      token_type: 'Bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      expires_in: 900,
      scope: 'deploy orders:read',
    });

    const introspected = await tollgate.verify(exchanged.json.access_token);
    expect(introspected.json).toMatchObject({ active: true, kind: 'ci', sub: 'github:repo:acme/app:ref:refs/heads/main' });
    expect(introspected.json.gh).toMatchObject({ repository: 'acme/app', repository_id: '74' });

    const refreshed = await tollgate.refresh(exchanged.json.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(exchanged.json.refresh_token);

    expect((await tollgate.revoke(refreshed.json.access_token)).status).toBe(200);
    expect((await tollgate.verify(refreshed.json.access_token)).json).toEqual({ active: false });
    expect((await tollgate.refresh(refreshed.json.refresh_token)).json).toEqual({
      error: 'invalid_grant',
      error_description: 'the session has ended',
    });
  });

  it('exchanges a Clerk session token for the scopes its role earns', async () => {
    const subject = await issuers.issuers.clerk!.sign(
      clerkSessionClaims(issuers.issuers.clerk!.issuer, now(), { azp: 'https://app.example.com', role: 'api-client' }),
    );
    const exchanged = await tollgate.exchange(subject, { scope: 'orders:read' });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.scope).toBe('orders:read');
  });
});
