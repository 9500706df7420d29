import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, STORE_TIMEOUTS } from '../../src/adapters/dynamo-client';
import { generateSigningKeyDocument } from '../../src/adapters/jwk-set';
import type { TollgateConfigInput } from '../../src/config/config';
import { EnvNames } from '../../src/contract/env-names';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/fault-proxy';
import { postForm } from '../support/http';
import { snapshotStore } from '../support/store-snapshot';
import { startTestStore, type TestStore } from '../support/store';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { bearer, rawRequest, recordingObservability, startTestUpstream, trustFor, type TestUpstream } from '../services/proxy-harness';

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' };
/** As for the store (Secrets Manager uses `STORE_TIMEOUTS` too); not a speed assertion. */
const SECRETS_FAILURE_BOUND_MS = STORE_TIMEOUTS.maxAttempts * (STORE_TIMEOUTS.connectionTimeoutMs + STORE_TIMEOUTS.requestTimeoutMs) + 1_000 + 1_500;
const ROUTES: NonNullable<TollgateConfigInput['proxy']>['routes'] = [{ methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }];
/** A JWT-shaped bearer token: the proxy and /verify must load the signing keys to judge it. */
const SOME_JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJ4In0.c2ln';

async function timed<T>(act: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await act();
  return { result, ms: performance.now() - started };
}

/**
 * Secrets that cannot be read when a function starts: the signing key set
 * (a local file, or a Secrets Manager secret behind a fault proxy) and the
 * upstream credential's secret ref. Each is a 503 that is not remembered: the
 * next request reads again and succeeds once the secret is back.
 */
describe('secrets unreadable at cold start', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let store: TestStore;
  let secretsManager: FakeSecretsManager;
  let faults: FaultProxy;
  let db: DynamoDBDocumentClient;
  const started: LocalTollgate[] = [];
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  const subjectToken = () => {
    const github = issuers.issuers.github!;
    return github.sign(githubActionsClaims(github.issuer, Math.floor(Date.now() / 1000), { repositoryId: '74', ownerId: '65' }));
  };

  /** A fresh Tollgate (a cold start: nothing read yet) on its own tables. */
  async function coldTollgate(options: { env?: Record<string, string | undefined>; proxy?: Partial<NonNullable<TollgateConfigInput['proxy']>> } = {}) {
    const tables = { sessions: `sessions-${started.length}-${store.tables.sessions}`, guards: `guards-${started.length}-${store.tables.guards}` };
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cold-'));
    const tollgate = await startLocalTollgate({
      port: 0,
      config: { trust: trustFor(issuers), proxy: { upstreamUrl: upstream.url, routes: ROUTES, ...options.proxy } },
      dataDir,
      dynamodbEndpoint: store.endpoint,
      tables,
      observability: recordingObservability(),
      env: options.env,
    });
    started.push(tollgate);
    return { tollgate, tables, keysFile: join(dataDir, 'signing-keys.json') };
  }

  beforeAll(async () => {
    // The SDK's default credential chain reads these (any value: the fakes check only that requests are signed).
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    store = await startTestStore();
    secretsManager = await startFakeSecretsManager();
    faults = await startFaultProxy(secretsManager.endpoint);
    db = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterAll(async () => {
    for (const tollgate of started) await tollgate.close().catch(() => undefined);
    db?.destroy();
    await faults?.close();
    await secretsManager?.close();
    await store?.close();
    await upstream?.close();
    await issuers?.close();
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
  });

  afterEach(async () => {
    await faults.setMode('up');
  });

  describe('the signing key set', () => {
    it.each([
      ['missing (the file cannot be read)', '1', (file: string) => renameSync(file, `${file}.away`), (file: string) => renameSync(`${file}.away`, file)],
      ['not a key set (an operator’s mistake)', '5', (file: string) => {
        renameSync(file, `${file}.away`);
        writeFileSync(file, 'not json');
      }, (file: string) => renameSync(`${file}.away`, file)],
    ])('%s: /token, /verify and the proxy answer 503 with Retry-After %s, nothing is written, and the next request after the fix succeeds', async (_name, retryAfter, breakIt, fixIt) => {
      const { tollgate, tables, keysFile } = await coldTollgate();
      const subject = await subjectToken();
      breakIt(keysFile);

      const exchanged = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
      const verified = await postForm(`${tollgate.baseUrl}/verify`, { token: SOME_JWT });
      const proxied = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(SOME_JWT) });

      for (const answer of [exchanged, verified]) {
        expect(answer.status).toBe(503);
        expect(answer.json).toEqual(UNAVAILABLE);
        expect(answer.headers.get('retry-after')).toBe(retryAfter);
      }
      expect(proxied.status).toBe(503);
      expect(proxied.json).toEqual({ ...UNAVAILABLE, code: 'SIGNING_KEYS_UNAVAILABLE' });
      expect(proxied.headers['retry-after']).toBe(retryAfter);
      expect((await snapshotStore(db, tables)).sessions).toEqual([]);
      expect((await snapshotStore(db, tables)).guards).toEqual([]);

      fixIt(keysFile);
      // The same single-use subject token: it was given back when signing failed.
      const retried = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
      expect(retried.status).toBe(200);
      expect((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(retried.json.access_token) })).status).toBe(200);
    });

    it.each<[FaultMode]>([['refuse'], ['hang'], ['reset']])(
      'in Secrets Manager that is %s: /token answers 503 within the bound, then reads again and succeeds',
      async (mode) => {
        const secretId = `tollgate/signing-keys-${mode}`;
        secretsManager.createSecret(secretId, JSON.stringify(await generateSigningKeyDocument('RS256')));
        const { tollgate } = await coldTollgate({
          env: { [EnvNames.signingKeysSecretId]: secretId, [EnvNames.secretsManagerEndpoint]: faults.endpoint },
        });
        const subject = await subjectToken();
        await faults.setMode(mode);

        const { result, ms } = await timed(() => postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject }));

        expect(result.status).toBe(503);
        expect(result.json).toEqual(UNAVAILABLE);
        expect(result.headers.get('retry-after')).toBe('1');
        expect(ms).toBeLessThan(SECRETS_FAILURE_BOUND_MS);
        await faults.setMode('up');
        const retried = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
        expect(retried.status).toBe(200);
      },
    );
  });

  describe('the upstream credential’s secret ref', () => {
    it.each<[FaultMode]>([['refuse'], ['hang']])(
      'in Secrets Manager that is %s: the proxy answers 503 SECRETS_UNAVAILABLE within the bound, never forwards, then reads again',
      async (mode) => {
        const secretId = `orders-api-key-${mode}`;
        secretsManager.createSecret(secretId, `key-${mode}-value`);
        const { tollgate } = await coldTollgate({
          env: { [EnvNames.secretsManagerEndpoint]: faults.endpoint },
          proxy: { upstreamAuth: { type: 'header', name: 'X-Api-Key', value: `aws-secretsmanager:${secretId}` } },
        });
        const token = (await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: await subjectToken() })).json.access_token;
        const forwarded = upstream.received.length;
        await faults.setMode(mode);

        const { result, ms } = await timed(() => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) }));

        expect(result.status).toBe(503);
        expect(result.json).toEqual({ ...UNAVAILABLE, code: 'SECRETS_UNAVAILABLE' });
        expect(result.headers['retry-after']).toBe('1');
        expect(ms).toBeLessThan(SECRETS_FAILURE_BOUND_MS);
        expect(upstream.received.length).toBe(forwarded);
        await faults.setMode('up');
        expect((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) })).status).toBe(200);
        expect(upstream.header(upstream.received.at(-1)!, 'x-api-key')).toEqual([`key-${mode}-value`]);
      },
    );
  });
});
