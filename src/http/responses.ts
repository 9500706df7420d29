import type { HttpResult } from './api-event';

/** RFC 6749 §5.1: token responses, and anything else carrying credentials, are never cached. */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

/** Public, cacheable JSON (metadata, JWKS). */
export function publicJson(body: unknown, maxAgeSeconds: number): HttpResult {
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${maxAgeSeconds}` },
    body: JSON.stringify(body),
  };
}
