import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { gatewayIdentity } from '../../src/local/api-gateway-adapter';

export interface ApiEventOptions {
  method: string;
  /** The API Gateway resource, e.g. `/token` or `/proxy/{proxy+}`. */
  resource: string;
  /** The path after the stage, e.g. `/proxy/orders/1`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  query?: Record<string, string>;
  pathParameters?: Record<string, string>;
  sourceIp?: string;
  /** @default 'prod' */
  stage?: string;
  /** @default 'tollgatetest.execute-api.us-east-1.amazonaws.com' */
  domainName?: string;
}

/**
 * An API Gateway REST API (payload v1) Lambda proxy event as a deployed stage
 * sends it, with binary media types `*\/*`: any body arrives base64-encoded.
 */
export function apiGatewayEvent(options: ApiEventOptions): APIGatewayProxyEvent {
  const headers = { Host: options.domainName ?? 'tollgatetest.execute-api.us-east-1.amazonaws.com', 'X-Forwarded-Proto': 'https', ...options.headers };
  const body = options.body === undefined ? null : Buffer.from(options.body).toString('base64');
  const query = options.query && Object.keys(options.query).length > 0 ? options.query : null;
  const stage = options.stage ?? 'prod';
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]])) : null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: body !== null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'tollgatetest',
      authorizer: null,
      domainName: headers.Host,
      domainPrefix: headers.Host.split('.')[0],
      httpMethod: options.method,
      identity: gatewayIdentity(options.sourceIp ?? '203.0.113.7', 'artifact-test'),
      path: `/${stage}${options.path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: options.resource,
      stage,
    },
  };
}
