import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { httpHandler } from '../../src/http/middleware';
import { withCors } from '../../src/http/cors-middleware';
import { OAuthError } from '../../src/domain/errors';
import { BROWSER_ROUTES, CorsPolicy, proxyBrowserRoute } from '../../src/services/cors-policy';
import { apiGatewayEvent } from '../support/api-gateway-event';

const APP = 'https://app.example.com';
const observability = () => ({
  logger: new Logger({ serviceName: 'cors-test', logLevel: 'SILENT' }),
  metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'cors-test' }),
});
const context = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const rules = new CorsPolicy({ allowedOrigins: [APP], allowCredentials: false, maxAgeSeconds: 600, exposeHeaders: [] });

describe('the CORS middleware in the shared chain', () => {
  let ran = 0;
  const token = httpHandler(
    observability(),
    async (event) => {
      ran++;
      if (event.body === null) throw new OAuthError('invalid_request', 'missing grant_type');
      return { statusCode: 200, headers: { 'Content-Type': 'application/json', Vary: 'Accept-Encoding' }, body: '{}' };
    },
    {},
    { rules, route: BROWSER_ROUTES.token },
  );
  const call = (method: string, headers: Record<string, string>, body?: string) =>
    token(apiGatewayEvent({ method, resource: '/token', path: '/token', headers, body }), context);

  beforeEach(() => {
    ran = 0;
  });

  it('answers a preflight from an allowed origin before the handler runs', async () => {
    const result = await call('OPTIONS', { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,dpop' });
    expect(result.statusCode).toBe(204);
    expect(result.headers).toMatchObject({
      'Access-Control-Allow-Origin': APP,
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'Content-Type, DPoP',
    });
    expect(ran).toBe(0);
  });

  it('refuses the preflight of another origin with 403 and no CORS header', async () => {
    const result = await call('OPTIONS', { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' });
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body)).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    expect(Object.keys(result.headers ?? {}).filter((name) => name.toLowerCase().startsWith('access-control-'))).toEqual([]);
    expect(ran).toBe(0);
  });

  it('answers a plain OPTIONS with Allow', async () => {
    const result = await call('OPTIONS', {});
    expect(result).toMatchObject({ statusCode: 204, headers: { Allow: 'POST, OPTIONS' } });
  });

  it('names the allowed origin on a success and keeps the handler’s Vary', async () => {
    const result = await call('POST', { Origin: APP }, 'grant_type=x');
    expect(result.headers).toMatchObject({ 'Access-Control-Allow-Origin': APP, 'Access-Control-Expose-Headers': 'WWW-Authenticate, Retry-After, DPoP-Nonce', Vary: 'Accept-Encoding, Origin' });
  });

  it('names the allowed origin on an error the boundary shaped', async () => {
    const result = await call('POST', { Origin: APP });
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'invalid_request', error_description: 'missing grant_type' });
    expect(result.headers).toMatchObject({ 'Access-Control-Allow-Origin': APP, Vary: 'Origin' });
  });

  it('gives another origin Vary: Origin and nothing else', async () => {
    const result = await call('POST', { Origin: 'https://evil.example' }, 'grant_type=x');
    expect(result.headers?.Vary).toBe('Accept-Encoding, Origin');
    expect(Object.keys(result.headers ?? {}).filter((name) => name.toLowerCase().startsWith('access-control-'))).toEqual([]);
  });

  it('leaves a non-preflight OPTIONS at the proxy to the proxy, and CORS-less deployments alone', async () => {
    const forwarded: string[] = [];
    const proxy = (cors: CorsPolicy) =>
      httpHandler(observability(), async (event) => {
        forwarded.push(event.httpMethod);
        return { statusCode: 200, body: 'upstream' };
      }, {}, { rules: cors, route: proxyBrowserRoute([{ methods: ['*'] }]) });
    const event = (headers: Record<string, string>) => apiGatewayEvent({ method: 'OPTIONS', resource: '/proxy/{proxy+}', path: '/proxy/x', headers });
    expect((await proxy(rules)(event({}), context)).body).toBe('upstream');
    expect((await proxy(new CorsPolicy(undefined))(event({ Origin: APP, 'Access-Control-Request-Method': 'GET' }), context)).body).toBe('upstream');
    expect((await proxy(rules)(event({ Origin: APP, 'Access-Control-Request-Method': 'GET' }), context)).statusCode).toBe(204);
    expect(forwarded).toEqual(['OPTIONS', 'OPTIONS']);
  });
});

describe('withCors', () => {
  const cors: [string, string][] = [['Access-Control-Allow-Origin', APP]];

  it.each([
    ['no Vary', { statusCode: 200, body: '' }, { Vary: 'Origin' }, undefined],
    ['a Vary in another case', { statusCode: 200, headers: { vary: 'Accept' }, body: '' }, { vary: 'Accept, Origin' }, undefined],
    ['Vary: *', { statusCode: 200, headers: { Vary: '*' }, body: '' }, { Vary: '*' }, undefined],
    ['Vary already naming Origin', { statusCode: 200, headers: { Vary: 'origin' }, body: '' }, { Vary: 'origin' }, undefined],
    ['repeated Vary headers', { statusCode: 200, headers: {}, multiValueHeaders: { vary: ['Accept', 'Accept-Language'] }, body: '' }, {}, { vary: ['Accept', 'Accept-Language', 'Origin'] }],
  ])('adds Origin to %s, once', (_name, result, headers, multi) => {
    const out = withCors(result, cors);
    expect(out.headers).toEqual({ ...headers, 'Access-Control-Allow-Origin': APP });
    expect(out.multiValueHeaders).toEqual(multi);
  });
});
