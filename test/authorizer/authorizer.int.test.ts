import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { createAuthorizer, findToken, type AuthorizerEvent } from '../../src/authorizer/authorizer';
import { createVerifier } from '../../src/verifier';
import { startCiTollgate, type CiTollgate } from '../support/ci-tollgate';
import { TestClock } from '../support/clock';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42';

function restEvent(headers: Record<string, string>, query: Record<string, string> | null = null): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    resource: '/orders/{id}',
    path: '/orders/42',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: null,
    pathParameters: { id: '42' },
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

function webSocketConnect(headers: Record<string, string>, query: Record<string, string> | null = null): AuthorizerEvent {
  const event = restEvent(headers, query);
  return { ...event, methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:ws123/prod/$connect', requestContext: { routeKey: '$connect' } } as AuthorizerEvent;
}

function httpApiEvent(headers: Record<string, string>): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:http123/$default/GET/orders/42',
    identitySource: [headers.authorization ?? ''],
    routeKey: 'GET /orders/{id}',
    rawPath: '/orders/42',
    rawQueryString: '',
    cookies: [],
    headers,
    requestContext: {} as APIGatewayRequestAuthorizerEventV2['requestContext'],
  };
}

describe('TollgateAuthorizer function', () => {
  const clock = new TestClock();
  let ci: CiTollgate;
  let authorize: ReturnType<typeof createAuthorizer>;

  beforeAll(async () => {
    ci = await startCiTollgate(clock, ['orders:read']);
    authorize = createAuthorizer(createVerifier({ issuer: ci.tollgate.baseUrl, audience: 'tollgate', now: () => clock.now() }), {
      tokenSources: [
        { type: 'header', name: 'Authorization' },
        { type: 'protocol', marker: 'tollgate' },
        { type: 'query', name: 'access_token' },
      ],
      routeScopes: { 'GET /orders/{id}': ['orders:read'], 'DELETE /orders/{id}': ['orders:admin'], $connect: ['orders:read'] },
    });
  });

  afterAll(async () => {
    await ci?.close();
  });

  it('allows a REST call whose token holds the route scopes, with sub as principal and the session in the context', async () => {
    const result = await authorize(restEvent({ Authorization: `Bearer ${await ci.accessToken()}` }));
    expect(result).toMatchObject({
      principalId: 'github:repo:acme/app:ref:refs/heads/main',
      policyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }] },
      context: { kind: 'ci', scope: 'orders:read', repository: 'acme/app' },
    });
    expect((result as { context: { sid: string } }).context.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('denies (403) this method only when the route needs a scope the token lacks', async () => {
    const event = { ...restEvent({ Authorization: `Bearer ${await ci.accessToken()}` }), httpMethod: 'DELETE' };
    const result = await authorize(event);
    expect(result).toMatchObject({ policyDocument: { Statement: [{ Effect: 'Deny', Resource: METHOD_ARN }] } });
    expect(result).not.toHaveProperty('context');
  });

  it.each([
    ['no token', {}],
    ['a malformed token', { Authorization: 'Bearer not-a-jwt' }],
    ['another scheme', { Authorization: 'Basic dXNlcjpwYXNz' }],
  ])('answers Unauthorized (401) for %s', async (_name, headers) => {
    await expect(authorize(restEvent(headers))).rejects.toThrow('Unauthorized');
  });

  it('accepts a WebSocket $connect with the token in Sec-WebSocket-Protocol', async () => {
    const token = await ci.accessToken();
    const result = await authorize(webSocketConnect({ 'Sec-WebSocket-Protocol': `tollgate, ${token}` }));
    expect(result).toMatchObject({ policyDocument: { Statement: [{ Effect: 'Allow' }] }, context: { kind: 'ci' } });
  });

  it('accepts a WebSocket $connect with the token in the query string', async () => {
    const token = await ci.accessToken();
    const result = await authorize(webSocketConnect({}, { access_token: token }));
    expect(result).toMatchObject({ policyDocument: { Statement: [{ Effect: 'Allow' }] } });
  });

  it('answers HTTP APIs with simple responses', async () => {
    const allowed = await authorize(httpApiEvent({ authorization: `Bearer ${await ci.accessToken()}` }));
    expect(allowed).toMatchObject({ isAuthorized: true, context: { kind: 'ci', scope: 'orders:read' } });
    expect(await authorize(httpApiEvent({ authorization: 'Bearer nope' }))).toEqual({ isAuthorized: false, context: {} });
  });

  it('takes the first source that carries a token', () => {
    const sources = [
      { type: 'header', name: 'authorization' },
      { type: 'query', name: 'access_token' },
    ] as const;
    expect(findToken(restEvent({ authorization: 'Bearer a.b.c' }, { access_token: 'd.e.f' }), sources)).toBe('a.b.c');
    expect(findToken(restEvent({}, { access_token: 'd.e.f' }), sources)).toBe('d.e.f');
    expect(findToken(restEvent({ 'Sec-WebSocket-Protocol': 'tollgate' }), [{ type: 'protocol', marker: 'tollgate' }])).toBeUndefined();
  });
});
