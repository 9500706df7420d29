import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { maskCredential } from '../../src/local/echo-upstream';
import { postForm } from '../support/http';
import { EXCHANGE } from '../support/tollgate';
import { bearer, rawRequest, recordingObservability } from '../services/proxy-harness';

/** The README walk-through against `npm start`'s defaults: dev config, dev issuer, built-in echo upstream. */
describe('local runtime: the proxy walk-through against the echo upstream', () => {
  let tollgate: LocalTollgate;
  let access: string;
  const echoKey = 'walkthrough-echo-key';

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.env.TOLLGATE_ECHO_API_KEY = echoKey;
    tollgate = await startLocalTollgate({ port: 0, dataDir: mkdtempSync(join(tmpdir(), 'tollgate-echo-')), observability: recordingObservability() });
    const subject = await tollgate.devIssuer.mint({ kind: 'ci', repository: 'acme/app' });
    const exchanged = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
    expect(exchanged.json.scope).toBe('orders:read deploy');
    access = exchanged.json.access_token;
  });

  afterAll(async () => {
    await tollgate?.close();
    delete process.env.TOLLGATE_ECHO_API_KEY;
  });

  it('shows what the upstream received: identity headers, the masked credential, no client credentials', async () => {
    const answer = await rawRequest(tollgate.baseUrl, {
      path: '/proxy/orders/42?expand=items',
      headers: { ...bearer(access), cookie: 'mine=1', 'x-tollgate-subject': 'someone-else' },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ method: 'GET', path: '/orders/42', query: { expand: ['items'] } });
    expect(answer.json.headers).toMatchObject({
      'x-api-key': maskCredential(echoKey),
      'x-tollgate-subject': 'github:repo:acme/app:ref:refs/heads/main',
      'x-tollgate-scopes': 'orders:read deploy',
      'x-tollgate-kind': 'ci',
      'x-tollgate-repository': 'acme/app',
    });
    expect(answer.json.headers).not.toHaveProperty('authorization');
    expect(answer.json.headers).not.toHaveProperty('cookie');
    expect(answer.body.toString()).not.toContain(echoKey);
  });

  it('echoes a POST body', async () => {
    const answer = await rawRequest(tollgate.baseUrl, { method: 'POST', path: '/proxy/deployments', headers: { ...bearer(access), 'content-type': 'application/json' }, body: '{"sha":"abc"}' });
    expect(answer.json).toMatchObject({ method: 'POST', path: '/deployments', body: { bytes: 13, text: '{"sha":"abc"}' } });
  });

  it.each([
    ['POST', '/proxy/orders', 403, 'INSUFFICIENT_SCOPE'],
    ['GET', '/proxy/billing/invoices', 403, 'INSUFFICIENT_SCOPE'],
    ['GET', '/proxy/admin', 403, 'ROUTE_NOT_ALLOWED'],
  ])('refuses %s %s with %i %s', async (method, path, status, code) => {
    const answer = await rawRequest(tollgate.baseUrl, { method, path, headers: bearer(access) });
    expect(answer.status).toBe(status);
    expect(answer.json.code).toBe(code);
  });

  it('answers 429 once the subject has used its 100 requests of the minute', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 110 && !statuses.includes(429); i++) {
      statuses.push((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) })).status);
    }
    expect(statuses.at(-1)).toBe(429);
    // Some requests above were already counted; with a clean sliding window the 101st would be the first refused.
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(100);
  });
});

describe('local runtime: a config without proxy', () => {
  it('proxies to the echo upstream with the default routes', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    const tollgate = await startLocalTollgate({
      port: 0,
      dataDir: mkdtempSync(join(tmpdir(), 'tollgate-echo-')),
      observability: recordingObservability(),
      config: {
        trust: [{ name: 'clerk', issuer: 'https://clerk.example.com', kind: 'user', authorizedParties: ['https://app.example.com'], rules: [{ claims: { sub: 'user_*' }, scopes: ['orders:read'] }] }],
      },
    });
    try {
      expect(tollgate.echoUpstream?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(tollgate.services.config.proxy?.upstreamUrl).toBe(tollgate.echoUpstream?.url);
      expect((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1' })).json.code).toBe('AUTH_REQUIRED');
    } finally {
      await tollgate.close();
    }
  });
});
