import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { RATE_LIMIT_KEY_PREFIX } from '../../src/adapters/dynamo-rate-limiter';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { createTokenHandler } from '../../src/handlers/token-handler';
import type { HttpEvent } from '../../src/http/api-event';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { TestClock } from '../support/clock';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestStore, type TestStore } from '../support/store';
import { EXCHANGE } from '../support/tollgate';
import { bearer, ciAccessToken, rawRequest, recordingObservability, startProxyTollgate, startTestUpstream, type TestUpstream } from '../services/proxy-harness';

const ROUTES = [{ methods: ['GET'] as 'GET'[], path: '/orders/**', scopes: ['orders:read'] }];
const RATE_LIMITED = { error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' };

/**
 * Two Tollgates on one store and one set of tables, like two Lambda
 * instances: same signing keys, same issuer, each with its own memory (session
 * cache, rate-limit cache). The clock starts one second into a minute, so no
 * test crosses a rate-limit window by accident.
 */
describe('proxy: two instances sharing one store', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let store: TestStore;
  let a: LocalTollgate;
  let b: LocalTollgate;
  let admin: DynamoDBClient;
  const clock = new TestClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    store = await startTestStore();
    const shared = {
      issuers,
      clock,
      store,
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-shared-')),
      issuer: 'https://tollgate.test',
      proxy: { upstreamUrl: upstream.url, routes: ROUTES, sessionCacheSeconds: 5 },
      rateLimit: { requestsPerMinute: 5, tokenRequestsPerMinutePerSubject: 3, tokenRequestsPerMinutePerIp: 1_000 },
    };
    admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    a = await startProxyTollgate({ ...shared, observability: recordingObservability() });
    b = await startProxyTollgate({ ...shared, observability: recordingObservability() });
  });

  afterAll(async () => {
    admin?.destroy();
    await a?.close();
    await b?.close();
    await store?.close();
    await upstream?.close();
    await issuers?.close();
  });

  it('counts one subject’s proxied requests across both instances and refuses the one over the limit', async () => {
    const token = (await ciAccessToken(a, issuers, { nowSeconds: nowSeconds(), repository: 'acme/limited' })).access_token;
    const statuses = [];
    for (const tollgate of [a, b, a, b, a]) {
      statuses.push((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const before = upstream.received.length;
    const refused = await rawRequest(b.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) });
    expect(upstream.received.length).toBe(before);
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual(RATE_LIMITED);
    expect(refused.headers['cache-control']).toBe('no-store');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);

    // Another subject has its own budget.
    const other = (await ciAccessToken(b, issuers, { nowSeconds: nowSeconds(), repository: 'acme/other' })).access_token;
    expect((await rawRequest(a.baseUrl, { path: '/proxy/orders/1', headers: bearer(other) })).status).toBe(200);

    // Once Retry-After has passed (and nothing else was sent), the subject is served again.
    clock.advance(retryAfter);
    const renewed = (await ciAccessToken(a, issuers, { nowSeconds: nowSeconds(), repository: 'acme/limited' })).access_token;
    expect((await rawRequest(a.baseUrl, { path: '/proxy/orders/1', headers: bearer(renewed) })).status).toBe(200);
  });

  it('admits each proxied request from a slice claimed in the shared store, never more than the limit across both instances', async () => {
    const token = (await ciAccessToken(a, issuers, { nowSeconds: nowSeconds(), repository: 'acme/counted' })).access_token;
    const statuses = [];
    for (const tollgate of [a, a, b, a, b, b, a, b]) {
      statuses.push((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) })).status);
      const admitted = statuses.filter((status) => status === 200).length;
      const claimed = await rateLimitTotal(admin, store.tables.guards, token);
      // Claimed before admitted: the shared total covers every admitted request, and stays within the limit.
      expect(claimed).toBeGreaterThanOrEqual(admitted);
      expect(claimed).toBeLessThanOrEqual(5);
    }
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(5);
    expect(statuses.slice(-1)).toEqual([429]); // refused ones spend nothing, and are still refused
  });

  it('limits token exchanges per verified subject across both instances', async () => {
    const github = issuers.issuers.github!;
    const exchange = async (tollgate: LocalTollgate, repository: string) =>
      postForm(`${tollgate.baseUrl}/token`, {
        ...EXCHANGE,
        subject_token: await github.sign(githubActionsClaims(github.issuer, nowSeconds(), { repositoryId: '74', repository })),
      });
    const statuses = [];
    for (const tollgate of [a, b, a]) statuses.push((await exchange(tollgate, 'acme/exchanges')).status);
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await exchange(b, 'acme/exchanges');
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual(RATE_LIMITED);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await exchange(a, 'acme/elsewhere')).status).toBe(200);
  });

  it('does not let forged tokens naming a subject spend that subject’s budget', async () => {
    const github = issuers.issuers.github!;
    const claims = () => githubActionsClaims(github.issuer, nowSeconds(), { repositoryId: '74', repository: 'acme/victim' });
    for (let i = 0; i < 5; i++) {
      const forged = await github.signWithUnpublishedKey(claims());
      expect((await postForm(`${a.baseUrl}/token`, { ...EXCHANGE, subject_token: forged })).status).toBe(400);
    }
    const genuine = await postForm(`${b.baseUrl}/token`, { ...EXCHANGE, subject_token: await github.sign(claims()) });
    expect(genuine.status).toBe(200);
  });

  it('makes a revocation at one instance bite at the other within sessionCacheSeconds', async () => {
    const token = await ciAccessToken(a, issuers, { nowSeconds: nowSeconds(), repository: 'acme/revoked' });
    const call = (tollgate: LocalTollgate) => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token.access_token) });
    expect((await call(b)).status).toBe(200); // b now holds the session in its cache

    expect((await postForm(`${a.baseUrl}/revoke`, { token: token.refresh_token })).status).toBe(200);
    expect((await call(a)).json?.code).toBe('SESSION_ENDED'); // the revoking instance drops its cache entry at once

    clock.advance(4);
    expect((await call(b)).status).toBe(200); // still inside the documented bound
    clock.advance(1);
    const late = await call(b);
    expect(late.status).toBe(401);
    expect(late.json.code).toBe('SESSION_ENDED');
    expect(late.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });
});

describe('/token: per source IP', () => {
  let issuers: TestIssuerServer;
  let tollgate: LocalTollgate;

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    tollgate = await startProxyTollgate({ issuers, rateLimit: { tokenRequestsPerMinutePerIp: 4 } });
  });

  afterAll(async () => {
    await tollgate?.close();
    await issuers?.close();
  });

  it('counts every request from the source IP API Gateway saw, whatever X-Forwarded-For says', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const answer = await postForm(`${tollgate.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: 'tgr_x.y' }, { 'x-forwarded-for': `203.0.113.${i}` });
      statuses.push(answer.status);
      if (answer.status === 429) {
        expect(answer.json).toEqual(RATE_LIMITED);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    }
    expect(statuses).toEqual([400, 400, 400, 400, 429]);
  });

  it('keeps separate budgets for separate source IPs', async () => {
    const handler = createTokenHandler(tollgate.services, recordingObservability(), { grants: 'both' });
    const from = (ip: string) => handler(tokenEvent(ip), lambdaContext());
    const first = [];
    for (let i = 0; i < 5; i++) first.push((await from('198.51.100.1')).statusCode);
    expect(first).toEqual([400, 400, 400, 400, 429]);
    expect((await from('198.51.100.2')).statusCode).toBe(400);
  });

  it('does not count again in the refresh function (the token function already did)', async () => {
    const refresh = createTokenHandler(tollgate.services, recordingObservability(), { grants: 'refresh' });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await refresh(tokenEvent('198.51.100.9'), lambdaContext())).statusCode);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400]);
  });
});

/** The claimed total of an access token's subject's proxy counters in the guards table (a consistent scan of the whole local table). */
async function rateLimitTotal(admin: DynamoDBClient, table: string, accessToken: string): Promise<number> {
  const { sub } = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string };
  const { Items = [] } = await admin.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  const prefix = `${RATE_LIMIT_KEY_PREFIX}${createHash('sha256').update(`proxy:${sub}`).digest('base64url').slice(0, 32)}#`;
  return Items.filter((item) => item.pk?.S?.startsWith(prefix)).reduce((sum, item) => sum + Number(item.count?.N ?? 0), 0);
}

function tokenEvent(sourceIp: string): HttpEvent {
  const body = Buffer.from('grant_type=refresh_token&refresh_token=tgr_x.y').toString('base64');
  return {
    resource: '/token',
    path: '/token',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '10.0.0.1' },
    multiValueHeaders: { 'content-type': ['application/x-www-form-urlencoded'], 'X-Forwarded-For': ['10.0.0.1'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: true,
    requestContext: { requestId: 'test', identity: { sourceIp }, stage: 'prod' } as HttpEvent['requestContext'],
  };
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'token',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:token',
    memoryLimitInMB: '512',
    awsRequestId: 'test',
    logGroupName: '/aws/lambda/token',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
