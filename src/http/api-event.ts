import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/** API Gateway REST API (payload v1) proxy event and result: the one event shape every HTTP handler takes. */
export type HttpEvent = APIGatewayProxyEvent;
export type HttpResult = APIGatewayProxyResult;

/** Case-insensitive header lookup; `undefined` when absent. */
export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers;
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  // Runs several times per request (CORS, the called scheme): names of another length are skipped unfolded.
  for (const key of Object.keys(headers)) {
    if (key.length !== lower.length || key.toLowerCase() !== lower) continue;
    const value = headers[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Every value a header was sent with (several `Authorization` headers are an error, not a choice). */
export function headerValues(event: HttpEvent, name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (const [key, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === lower && list) values.push(...list);
  }
  if (values.length === 0) {
    const single = header(event, name);
    if (single !== undefined) values.push(single);
  }
  return values;
}

/** The raw body bytes, whatever API Gateway's base64 decision. */
export function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === null || event.body === undefined) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** The caller's address as API Gateway saw it (never `X-Forwarded-For`). */
export function sourceIp(event: HttpEvent): string {
  return event.requestContext?.identity?.sourceIp ?? 'unknown';
}

/**
 * The URL the client called, without its query, as API Gateway saw it: a
 * DPoP proof's `htu` (RFC 9449 §4.3). `requestContext.path` is the path the
 * client sent, stage (execute-api URL) or base path (custom domain)
 * included, unlike `event.path`. The host is `requestContext.domainName`,
 * never the client's `Host` header: an `htu` checked against a
 * client-written host would accept proofs made for another server.
 */
export function calledUrl(event: HttpEvent): string | undefined {
  const host = event.requestContext?.domainName;
  const path = event.requestContext?.path;
  if (!host || typeof path !== 'string' || !path.startsWith('/')) return undefined;
  return `${calledScheme(event)}://${host}${path}`;
}

/** API Gateway serves HTTPS only; the local server says `http` in its own `X-Forwarded-Proto`. */
function calledScheme(event: HttpEvent): 'http' | 'https' {
  return header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
}
