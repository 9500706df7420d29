import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/** API Gateway REST API (payload v1) proxy event and result: the one event shape every HTTP handler takes. */
export type HttpEvent = APIGatewayProxyEvent;
export type HttpResult = APIGatewayProxyResult;

/** Case-insensitive header lookup; `undefined` when absent. */
export function header(event: HttpEvent, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === lower && value !== undefined) return value;
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

/** The base URL the client called, as API Gateway saw it (`https://host/stage`). */
export function calledBaseUrl(event: HttpEvent): string | undefined {
  const host = event.requestContext?.domainName ?? header(event, 'host');
  if (!host) return undefined;
  const proto = header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
  const stage = event.requestContext?.stage;
  const custom = event.requestContext?.domainName && !event.requestContext.domainName.includes('.execute-api.');
  return `${proto}://${host}${stage && stage !== '$default' && !custom ? `/${stage}` : ''}`;
}
