import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '../http/api-event';
import type { ResponseHead, ResponseSink, StreamingHttpFunction } from '../http/response-stream';

export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** A route as API Gateway would have it: a resource (`/proxy/{proxy+}`) and its methods. */
export interface LocalRoute {
  /** `ANY` or an HTTP method. */
  method: string;
  /** API Gateway resource path; `{name+}` as the last segment is a greedy path parameter. */
  resource: string;
  handler: LambdaHttpHandler;
  /**
   * The route's streaming handler (API Gateway's `responseTransferMode:
   * STREAM`): when present it answers instead of `handler`, writing to the
   * client as the body arrives.
   */
  streaming?: StreamingHttpFunction;
  /** Function name shown in logs. */
  name: string;
}

/** `requestContext.identity` as API Gateway REST fills it for an unauthenticated caller: only the address and user agent are set. */
export function gatewayIdentity(sourceIp: string, userAgent: string | null): HttpEvent['requestContext']['identity'] {
  return {
    sourceIp,
    userAgent,
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    user: null,
    userArn: null,
  };
}

/** API Gateway's own payload limit (10 MB); above it API Gateway answers 413 before any function runs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** A route with its resource parsed once: the literal prefix and parameter name of a greedy `{name+}` resource. */
interface CompiledRoute {
  route: LocalRoute;
  greedy?: { prefix: string; parameter: string };
}

function compileRoute(route: LocalRoute): CompiledRoute {
  const greedy = /^(.*)\/\{([A-Za-z0-9_]+)\+\}$/.exec(route.resource);
  return greedy ? { route, greedy: { prefix: `${greedy[1]}/`, parameter: greedy[2]! } } : { route };
}

function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { route: LocalRoute; pathParameters: Record<string, string> | null } | undefined {
  for (const { route, greedy } of routes) {
    if (route.method !== 'ANY' && route.method !== method) continue;
    if (greedy) {
      if (path.startsWith(greedy.prefix) && path.length > greedy.prefix.length) {
        return { route, pathParameters: { [greedy.parameter]: path.slice(greedy.prefix.length) } };
      }
    } else if (route.resource === path) {
      return { route, pathParameters: null };
    }
  }
  return undefined;
}

/** What the event takes from the configured public base URL, worked out once per listener. */
interface PublicParts {
  /** `X-Forwarded-Proto`. */
  proto: string;
  /** `requestContext.domainName`. */
  host: string;
  /** The base path before `requestContext.path` (no trailing `/`). */
  basePath: string;
}

function publicParts(publicUrl: URL | undefined): PublicParts | undefined {
  return publicUrl ? { proto: publicUrl.protocol.replace(/:$/, ''), host: publicUrl.host, basePath: publicUrl.pathname.replace(/\/+$/, '') } : undefined;
}

/** A request without a body (a GET): no concatenation. */
const EMPTY = Buffer.alloc(0);

const NO_PARAMETERS = { query: null, multiValue: null };

/** The query as API Gateway parses it (decoded, `+` as space, repeats kept), or nulls when there is none. */
function queryParameters(query: string): { query: Record<string, string> | null; multiValue: Record<string, string[]> | null } {
  if (query === '') return NO_PARAMETERS;
  const searchParams = new URLSearchParams(query);
  if (searchParams.size === 0) return NO_PARAMETERS;
  const single: Record<string, string> = Object.create(null);
  const multiValue: Record<string, string[]> = Object.create(null);
  for (const [name, value] of searchParams) {
    single[name] = value;
    (multiValue[name] ??= []).push(value);
  }
  return { query: single, multiValue };
}

/**
 * Turns a Node request into the API Gateway REST (payload v1) event the
 * deployed functions receive, with the body base64-encoded as API Gateway
 * does with binary media types `*\/*`, and the caller's socket address as
 * `sourceIp`. The path is passed on raw (still percent-encoded), as API
 * Gateway hands `{proxy+}` to the function. With `publicUrl` (the server's
 * configured public base URL), `requestContext.domainName`, its path and
 * `X-Forwarded-Proto` come from it, as API Gateway's come from its own
 * domain: never from the client's `Host` header.
 */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  route: LocalRoute,
  path: string,
  query: string,
  pathParameters: Record<string, string> | null,
  publicUrl?: URL,
): HttpEvent {
  return buildEvent(request, body, route, path, query, pathParameters, publicParts(publicUrl));
}

const IPV4_MAPPED = '::ffff:';

function buildEvent(
  request: IncomingMessage,
  body: Buffer,
  route: LocalRoute,
  path: string,
  query: string,
  pathParameters: Record<string, string> | null,
  publicUrl: PublicParts | undefined,
): HttpEvent {
  // Names are data: `constructor` or `__proto__` is a header like any other (null-prototype maps).
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  const remoteAddress = request.socket.remoteAddress;
  const sourceIp = remoteAddress === undefined ? '127.0.0.1' : remoteAddress.startsWith(IPV4_MAPPED) ? remoteAddress.slice(IPV4_MAPPED.length) : remoteAddress;
  let forwardedFor: string | undefined;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // Like API Gateway: X-Forwarded-Proto/-Port are its own, and it appends the caller to X-Forwarded-For.
    // Those names are 15–17 characters long: every other header skips the lower-casing.
    if (name.length >= 15 && name.length <= 17) {
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-port') continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
        continue;
      }
    }
    headers[name] = value;
    const values = multiValueHeaders[name];
    if (values) values.push(value);
    else multiValueHeaders[name] = [value];
  }
  const gatewayForwardedFor = forwardedFor ? `${forwardedFor}, ${sourceIp}` : sourceIp;
  const gatewayProto = publicUrl ? publicUrl.proto : 'http';
  const gatewayPort = String(request.socket.localPort ?? '');
  headers['X-Forwarded-For'] = gatewayForwardedFor;
  multiValueHeaders['X-Forwarded-For'] = [gatewayForwardedFor];
  headers['X-Forwarded-Proto'] = gatewayProto;
  multiValueHeaders['X-Forwarded-Proto'] = [gatewayProto];
  headers['X-Forwarded-Port'] = gatewayPort;
  multiValueHeaders['X-Forwarded-Port'] = [gatewayPort];
  const parameters = queryParameters(query);
  const method = request.method ?? 'GET';
  return {
    resource: route.resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: parameters.query,
    multiValueQueryStringParameters: parameters.multiValue,
    pathParameters,
    stageVariables: null,
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      // API Gateway's own domain, never the client's Host header: a DPoP proof's htu is checked against it (calledUrl).
      domainName: publicUrl?.host ?? request.headers.host ?? '127.0.0.1',
      httpMethod: method,
      identity: gatewayIdentity(sourceIp, request.headers['user-agent'] ?? null),
      // As with a custom domain's base path: the public URL's path (a reverse proxy in front strips it) comes first.
      path: publicUrl ? `${publicUrl.basePath}${path}` : path,
      protocol: `HTTP/${request.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.resource,
      stage: 'local',
    },
  };
}

/** The Lambda context the local server hands each handler; its methods live on the prototype, not in closures per request. */
class LocalContext implements Context {
  readonly callbackWaitsForEmptyEventLoop = false;
  readonly functionVersion = '$LATEST';
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB = '512';
  readonly logGroupName: string;
  readonly logStreamName = 'local';
  private readonly deadline = Date.now() + 30_000;

  constructor(
    readonly functionName: string,
    readonly awsRequestId: string,
  ) {
    this.invokedFunctionArn = `arn:aws:lambda:local:000000000000:function:${functionName}`;
    this.logGroupName = `/aws/lambda/${functionName}`;
  }

  getRemainingTimeInMillis(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  done(): void {}

  fail(): void {}

  succeed(): void {}
}

function lambdaContext(name: string, requestId: string): Context {
  return new LocalContext(name, requestId);
}

function send(response: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
  const body = result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  headers['Content-Length'] = String(body.length);
  response.writeHead(result.statusCode, headers);
  response.end(body);
}

/**
 * The streaming seam over node:http: the head is written and flushed at once
 * (the client sees the status and headers before the first body byte, as
 * with API Gateway's streaming prelude), then the body goes to the
 * `ServerResponse` itself, chunked, with its backpressure. Node sends no body
 * for HEAD, 204 and 304.
 */
export function serverResponseSink(response: ServerResponse): ResponseSink {
  const headersOf = (head: ResponseHead) => {
    const headers: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of Object.entries(head.headers)) headers[name] = value;
    for (const [name, values] of Object.entries(head.multiValueHeaders ?? {})) headers[name] = values;
    // A client gone mid-body makes writes fail; the handler learns it from 'close', so the error itself is not news.
    response.on('error', () => undefined);
    return headers;
  };
  return {
    open(head) {
      response.writeHead(head.statusCode, headersOf(head));
      response.flushHeaders();
      return response;
    },
    // A whole answer: head and body in one write, with a Content-Length (an explicit writeHead without one is chunked).
    send(head, body) {
      const headers = headersOf(head);
      if (mayCarryBody(response.req?.method, head.statusCode) && !hasHeader(headers, 'content-length')) headers['Content-Length'] = String(body.length);
      response.writeHead(head.statusCode, headers);
      // Settles when sent, or when the client went away first ('finish' then never comes).
      return new Promise<void>((resolve) => {
        response.once('close', resolve);
        response.end(body, () => resolve());
      });
    },
  };
}

/** RFC 9110 §6.4.1: no content in an answer to HEAD, nor in a 1xx, 204 or 304 (a length there would describe another answer). */
function mayCarryBody(method: string | undefined, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

function hasHeader(headers: Record<string, unknown>, lower: string): boolean {
  for (const name of Object.keys(headers)) if (name.length === lower.length && name.toLowerCase() === lower) return true;
  return false;
}

function gatewayError(response: ServerResponse, status: number, message: string): void {
  send(response, { statusCode: status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message }) });
}

/**
 * A request listener that plays API Gateway for the given routes: matches the
 * resource, builds the event, runs the same handler a Lambda function runs,
 * and writes its result back.
 */
export function apiGatewayListener(routes: readonly LocalRoute[], options: { publicUrl?: string } = {}) {
  const publicUrl = publicParts(options.publicUrl ? new URL(options.publicUrl) : undefined);
  const compiled = routes.map(compileRoute);
  return (request: IncomingMessage, response: ServerResponse): void => {
    const rawUrl = request.url ?? '/';
    const queryIndex = rawUrl.indexOf('?');
    const path = queryIndex === -1 ? rawUrl : rawUrl.slice(0, queryIndex);
    const query = queryIndex === -1 ? '' : rawUrl.slice(queryIndex + 1);
    const method = (request.method ?? 'GET').toUpperCase();
    const match = matchRoute(compiled, method, path);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      if (tooLarge) return gatewayError(response, 413, 'Request Too Long');
      if (!match) {
        // API Gateway REST answers unknown resources with 403 "Missing Authentication Token"; a plain 404 is kinder locally.
        return gatewayError(response, 404, 'Not Found');
      }
      const event = buildEvent(request, chunks.length === 0 ? EMPTY : Buffer.concat(chunks), match.route, path, query, match.pathParameters, publicUrl);
      const { streaming } = match.route;
      if (streaming) {
        streaming(event, serverResponseSink(response), lambdaContext(match.route.name, event.requestContext.requestId)).catch(() => {
          // After the head, the only signal left is to end the response early (as Lambda's runtime does): never a second status.
          if (response.headersSent) response.destroy();
          else gatewayError(response, 502, 'Internal server error');
        });
        return;
      }
      match.route
        .handler(event, lambdaContext(match.route.name, event.requestContext.requestId))
        .then((result) => send(response, result))
        .catch(() => gatewayError(response, 502, 'Internal server error'));
    });
  };
}
