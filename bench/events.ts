import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '../src/http/api-event';
import { gatewayIdentity } from '../src/local/api-gateway-adapter';

/** Builds the API Gateway REST (payload v1) event the deployed functions receive, body base64-encoded as with `*\/*` binary media types. */
export function apiEvent(request: {
  method: string;
  path: string;
  resource: string;
  headers?: Record<string, string>;
  body?: string;
  pathParameters?: Record<string, string> | null;
}): HttpEvent {
  const headers = { Host: '127.0.0.1', 'User-Agent': 'tollgate-bench', ...request.headers };
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) multiValueHeaders[name] = [value];
  const body = request.body === undefined ? null : Buffer.from(request.body).toString('base64');
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: body !== null,
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      authorizer: null,
      domainName: '127.0.0.1',
      httpMethod: request.method,
      identity: gatewayIdentity('127.0.0.1', 'tollgate-bench'),
      path: request.path,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'bench',
      resourcePath: request.resource,
      stage: 'bench',
    },
  };
}

/** A form POST to one of Tollgate's endpoints. */
export function formEvent(path: string, parameters: Record<string, string>): HttpEvent {
  return apiEvent({
    method: 'POST',
    path,
    resource: path,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(parameters).toString(),
  });
}

/** A Lambda context as the runtime passes it (the bench never reads the deadline). */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export const EXCHANGE_GRANT = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
