import { startEmbeddedStore } from '../../src/local/embedded-store';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE, testObservability } from '../support/tollgate';
import { REPO, oauthError, startTokenSuite, trustConfig, type TokenSuite } from './token-fixtures';

const UNAVAILABLE = oauthError('temporarily_unavailable', 'the service is temporarily unavailable, retry later');

describe('a trusted issuer whose keys cannot be fetched', () => {
  let suite: TokenSuite;

  beforeAll(async () => {
    suite = await startTokenSuite();
  });

  afterAll(async () => {
    suite?.issuers.setMode('up');
    await suite?.close();
  });

  it('answers 503 with Retry-After (the token is not at fault), writes nothing, and works once the issuer is back', async () => {
    const subject = await suite.githubToken();
    const before = await suite.counts();
    suite.issuers.setMode('down');

    const answer = await suite.tollgate.exchange(subject);

    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual(UNAVAILABLE);
    expect(await suite.counts()).toEqual(before);

    suite.issuers.setMode('up');
    expect((await suite.tollgate.exchange(subject)).status).toBe(200);
  });

  it('answers 503 when discovery fails (Clerk trust without jwksUri)', async () => {
    const subject = await suite.clerkToken();
    suite.issuers.setMode('down');

    const answer = await suite.tollgate.exchange(subject);

    expect(answer.status).toBe(503);
    expect(answer.json).toEqual(UNAVAILABLE);
    suite.issuers.setMode('up');
  });

  it('still answers invalid_grant for an unknown kid while the issuer is reachable', async () => {
    const subject = await suite.github.signWithUnpublishedKey(githubActionsClaims(suite.github.issuer, suite.now(), REPO));

    expect((await suite.tollgate.exchange(subject)).json).toEqual(oauthError('invalid_grant', 'subject token is not valid'));
  });
});

describe('a store that is down', () => {
  // Its own dynalite (also under DynamoDB Local), so the test can stop it.
  let store: Awaited<ReturnType<typeof startEmbeddedStore>>;
  let issuers: TestIssuerServer;
  let tollgate: LocalTollgate;

  beforeAll(async () => {
    store = await startEmbeddedStore();
    issuers = await startTestIssuers(['github', 'clerk']);
    tollgate = await startLocalTollgate({
      port: 0,
      config: { trust: trustConfig(issuers.issuers.github!, issuers.issuers.clerk!) },
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-test-')),
      dynamodbEndpoint: store.endpoint,
      tables: { sessions: 'sessions-down', guards: 'guards-down' },
      observability: testObservability(),
    });
  });

  afterAll(async () => {
    await tollgate?.close();
    await issuers?.close();
  });

  it('answers 503 temporarily_unavailable with Retry-After at /token, and /verify and /revoke never 500', async () => {
    const now = Math.floor(Date.now() / 1000);
    const subject = await issuers.issuers.github!.sign(githubActionsClaims(issuers.issuers.github!.issuer, now, REPO));
    const exchanged = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
    expect(exchanged.status).toBe(200);
    await store.close();

    const refreshed = await postForm(`${tollgate.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: exchanged.json.refresh_token });
    const another = await postForm(`${tollgate.baseUrl}/token`, {
      ...EXCHANGE,
      subject_token: await issuers.issuers.github!.sign(githubActionsClaims(issuers.issuers.github!.issuer, now, REPO)),
    });
    const verified = await postForm(`${tollgate.baseUrl}/verify`, { token: exchanged.json.refresh_token });
    const revoked = await postForm(`${tollgate.baseUrl}/revoke`, { token: exchanged.json.refresh_token });

    for (const answer of [refreshed, another, verified, revoked]) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(answer.json).toEqual(UNAVAILABLE);
    }
  });
});
