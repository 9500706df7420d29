import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TollgateConfigInput } from '../../src/config/config';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestStore, type TestStore } from '../support/store';
import { EXCHANGE, testObservability } from '../support/tollgate';

describe('removing a trust entry', () => {
  let issuers: TestIssuerServer;
  let store: TestStore;
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-trust-'));
  const running: LocalTollgate[] = [];

  function config(trusted: string[], dpopRequired: string[] = []): TollgateConfigInput {
    return {
      issuer: 'https://tollgate.test',
      trust: trusted.map((name) => ({
        name,
        issuer: issuers.issuers[name]!.issuer,
        kind: 'ci' as const,
        audiences: ['tollgate'],
        rules: [{ claims: { repository_id: '74' }, scopes: ['deploy'] }],
        ...(dpopRequired.includes(name) ? { dpop: { required: true } } : {}),
      })),
    };
  }

  async function start(trusted: string[], dpopRequired: string[] = []): Promise<LocalTollgate> {
    const tollgate = await startLocalTollgate({
      port: 0,
      dataDir,
      dynamodbEndpoint: store.endpoint,
      tables: store.tables,
      observability: testObservability(),
      config: config(trusted, dpopRequired),
    });
    running.push(tollgate);
    return tollgate;
  }

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    issuers = await startTestIssuers(['github', 'ghes']);
    store = await startTestStore();
  });

  afterAll(async () => {
    for (const tollgate of running) await tollgate.close().catch(() => undefined);
    await store?.close();
    await issuers?.close();
  });

  it('makes its sessions inactive at once and ends them at their next refresh, leaving the others alone', async () => {
    const before = await start(['github', 'ghes']);
    const sessions: Record<string, { refresh_token: string; access_token: string }> = {};
    for (const name of ['github', 'ghes']) {
      const issuer = issuers.issuers[name]!;
      const subject = await issuer.sign(githubActionsClaims(issuer.issuer, Math.floor(Date.now() / 1000), { repositoryId: '74' }));
      const answer = await postForm(`${before.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
      expect(answer.status).toBe(200);
      sessions[name] = answer.json;
    }
    await before.close();

    const after = await start(['github']);
    // At once at /verify (and the proxy), before any refresh.
    expect((await postForm(`${after.baseUrl}/verify`, { token: sessions.ghes!.access_token })).json).toEqual({ active: false });
    expect((await postForm(`${after.baseUrl}/verify`, { token: sessions.github!.access_token })).json.active).toBe(true);
    const cut = await postForm(`${after.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: sessions.ghes!.refresh_token });
    expect(cut.status).toBe(400);
    expect(cut.json).toEqual({ error: 'invalid_grant', error_description: 'the session has ended' });

    const kept = await postForm(`${after.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: sessions.github!.refresh_token });
    expect(kept.status).toBe(200);
  });

  it('turning dpop.required on for an entry: its unbound sessions get no further tokens and are left as they were, while the other entry’s sessions refresh as before', async () => {
    const before = await start(['github', 'ghes']);
    const sessions: Record<string, { refresh_token: string }> = {};
    for (const name of ['github', 'ghes']) {
      const issuer = issuers.issuers[name]!;
      const subject = await issuer.sign(githubActionsClaims(issuer.issuer, Math.floor(Date.now() / 1000), { repositoryId: '74' }));
      sessions[name] = (await postForm(`${before.baseUrl}/token`, { ...EXCHANGE, subject_token: subject })).json;
    }
    await before.close();
    const after = await start(['github', 'ghes'], ['ghes']);

    const cut = await postForm(`${after.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: sessions.ghes!.refresh_token });

    expect(cut.json).toEqual({ error: 'invalid_grant', error_description: 'the session has ended' });
    // Nothing rotated: the refused refresh token is refused again the same way, not as reuse.
    expect((await postForm(`${after.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: sessions.ghes!.refresh_token })).json).toEqual(cut.json);
    expect((await postForm(`${after.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: sessions.github!.refresh_token })).status).toBe(200);
  });
});
