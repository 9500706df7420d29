import { createProxyHandler } from '../../src/handlers/proxy-handler';
import type { HttpEvent } from '../../src/http/api-event';
import type { Context } from 'aws-lambda';
import { testObservability } from '../support/tollgate';
import { bearer, type ReceivedRequest } from '../services/proxy-harness';
import type { TokenBody } from '../integration/token-fixtures';
import { expectNothingLogged, startAttackSuite, type AttackSuite } from './attack-suite';

/**
 * Issue 13.4, names are data: request headers, query parameters, form
 * parameters and upstream response headers named like `Object.prototype`
 * members, in any letter case, over HTTP through the local server (whose
 * event builder, echo and forwarder build maps from them) and as Lambda
 * events straight into the handler. Never a 5xx, the server stays up, and
 * the names reach the upstream (and the client) as ordinary names.
 */

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'CONSTRUCTOR', '__PROTO__', 'ToString', 'HasOwnProperty'];
/** What survives the header rule (letters, digits and - only, issue 13.2). */
const FORWARDABLE = (name: string) => /^[a-z0-9-]+$/i.test(name);

describe('names are data: prototype-like names in requests and answers', () => {
  let suite: AttackSuite;
  let reader: TokenBody;

  beforeAll(async () => {
    suite = await startAttackSuite();
    reader = await suite.session('ci');
  });

  afterAll(async () => {
    await suite?.close();
  });

  const lastReceived = (): ReceivedRequest => suite.upstream.received.at(-1)!;

  it.each(NAMES)('a request header %s: forwarded as an ordinary header (or dropped by the name rule), never a 5xx', async (name) => {
    const before = suite.upstream.received.length;

    const answer = await suite.proxy({ path: '/proxy/orders/1', headers: { ...bearer(reader.access_token), [name]: 'v' } });

    expect(answer.status).toBe(200);
    expect(suite.upstream.received.length).toBe(before + 1);
    expect(suite.upstream.header(lastReceived(), name.toLowerCase())).toEqual(FORWARDABLE(name) ? ['v'] : []);
  });

  it.each(NAMES)('a query parameter %s, twice: forwarded in order, never a 5xx', async (name) => {
    const answer = await suite.proxy({ path: `/proxy/orders/1?${name}=1&${name}=2&a=b`, headers: bearer(reader.access_token) });

    expect(answer.status).toBe(200);
    expect(lastReceived().url).toBe(`/orders/1?${name}=1&${name}=2&a=b`);
  });

  it.each(NAMES)('an upstream answer header %s reaches the client', async (name) => {
    suite.upstream.behave((_request, response) => {
      response.setHeader(name, 'from-upstream');
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    try {
      // fetch's Headers, not Node's `response.headers` object (which silently drops a `__proto__` header itself).
      const answer = await fetch(`${suite.tollgate.baseUrl}/proxy/orders/1`, { headers: bearer(reader.access_token) });

      expect(answer.status).toBe(200);
      expect(answer.headers.get(name)).toBe('from-upstream');
    } finally {
      suite.upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    }
  });

  it.each(NAMES)('a form parameter and a request header %s at /token and /verify: the RFC answer', async (name) => {
    const token = await suite.tollgate.token([['grant_type', 'refresh_token'], ['refresh_token', 'nope'], [name, 'x']], { [name]: 'x' });
    const verify = await suite.proxy({ method: 'POST', path: `/verify?${name}=1`, headers: { 'content-type': 'application/x-www-form-urlencoded', [name]: 'x' }, body: `token=abc&${name}=1` });

    expect(token.status).toBe(400);
    expect(token.json).toEqual({ error: 'invalid_grant', error_description: 'refresh token is invalid' });
    expect(verify.status).toBe(200);
    expect(verify.json).toEqual({ active: false });
  });

  it('a JSON body member named __proto__ at /token is a parameter like any other', async () => {
    const answer = await suite.proxy({
      method: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"refresh_token","refresh_token":"nope","__proto__":{"grant_type":"x"},"constructor":"y"}',
    });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid_request', error_description: 'parameter __proto__ must be a string' });
  });

  it('the server still answers after all of that', async () => {
    const answer = await suite.proxy({ path: '/.well-known/jwks.json' });

    expect(answer.status).toBe(200);
  });

  describe('as Lambda events (JSON-parsed, own __proto__ members included)', () => {
    const context = { awsRequestId: 'names', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

    it.each(NAMES)('%s in every map of the event: 200 from the upstream', async (name) => {
      const handler = createProxyHandler(suite.tollgate.services, testObservability());
      const event = JSON.parse(
        JSON.stringify({
          resource: '/proxy/{proxy+}',
          path: '/proxy/orders/1',
          httpMethod: 'GET',
          headers: { Authorization: `Bearer ${reader.access_token}`, NAME: 'v' },
          multiValueHeaders: { Authorization: [`Bearer ${reader.access_token}`], NAME: ['v', 'w'] },
          queryStringParameters: { NAME: '2' },
          multiValueQueryStringParameters: { NAME: ['1', '2'] },
          pathParameters: { proxy: 'orders/1' },
          stageVariables: null,
          body: null,
          isBase64Encoded: false,
          requestContext: { domainName: 'api.example.com', path: '/prod/proxy/orders/1', identity: { sourceIp: '203.0.113.9' }, requestId: 'names' },
        }).replace(/"NAME"/g, JSON.stringify(name)),
      ) as HttpEvent;

      const result = await handler(event, context);

      expect(result.statusCode).toBe(200);
      expect(lastReceived().url).toBe(`/orders/1?${name}=1&${name}=2`);
      expect(suite.upstream.header(lastReceived(), name.toLowerCase())).toEqual(FORWARDABLE(name) ? ['v', 'w'] : []);
    });
  });

  it('logged none of the tokens it handled', () => {
    expectNothingLogged(suite);
  });
});
