import type middy from '@middy/core';
import type { HeaderPair } from '../domain/header-rules';
import type { BrowserRoute } from '../domain/origin-pattern';
import { header, type HttpEvent, type HttpResult } from './api-event';
import { NO_STORE } from './responses';

/** The decisions the middleware needs from the CORS policy (`src/services/cors-policy.ts`). */
export interface CorsRules {
  /** Some origin is allowed: without one Tollgate adds no CORS header anywhere. */
  readonly enabled: boolean;
  /** A preflight's answer headers, or `undefined` when the origin is not allowed. */
  preflight(origin: string | undefined, route: BrowserRoute, requestedHeaders: string | undefined): HeaderPair[] | undefined;
  /** The headers of an actual answer: none for an origin not allowed. */
  responseHeaders(origin: string | undefined): HeaderPair[];
}

/** A browser-facing route's CORS: the one policy and what a page may do at this route. */
export interface BrowserCors {
  rules: CorsRules;
  route: BrowserRoute;
}

/** A preflight from an origin the policy does not allow: 403, and no CORS header, so the browser stops there. */
function refusedPreflight(): HttpResult {
  return {
    statusCode: 403,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, Vary: 'Origin' },
    body: JSON.stringify({ error: 'origin_not_allowed', error_description: 'this origin may not call Tollgate from a browser', code: 'ORIGIN_NOT_ALLOWED' }),
  };
}

function record(pairs: readonly HeaderPair[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) headers[name] = value;
  return headers;
}

/**
 * Adds `Vary: Origin` and the policy's headers to a result, in `headers` or
 * next to a repeated `Vary` in `multiValueHeaders`, whatever the case of the
 * names already there.
 */
export function withCors(result: HttpResult, cors: readonly HeaderPair[]): HttpResult {
  const headers: Record<string, string | number | boolean> = { ...result.headers };
  const multi = result.multiValueHeaders ? { ...result.multiValueHeaders } : undefined;
  const varyKey = Object.keys(headers).find((name) => name.toLowerCase() === 'vary');
  const multiVaryKey = multi && Object.keys(multi).find((name) => name.toLowerCase() === 'vary');
  const varies = (value: string) => value.split(',').some((token) => ['origin', '*'].includes(token.trim().toLowerCase()));
  if (multi && multiVaryKey) {
    if (!multi[multiVaryKey]!.some((value) => varies(String(value)))) multi[multiVaryKey] = [...multi[multiVaryKey]!, 'Origin'];
  } else if (varyKey) {
    if (!varies(String(headers[varyKey]))) headers[varyKey] = `${headers[varyKey]}, Origin`;
  } else headers.Vary = 'Origin';
  for (const [name, value] of cors) headers[name] = value;
  return { ...result, headers, ...(multi ? { multiValueHeaders: multi } : {}) };
}

/**
 * CORS for one browser-facing route, in the shared chain (`httpHandler`),
 * so every answer carries it: the handler's, the error boundary's (this
 * middleware sits before the boundary, so its `onError` runs after the
 * boundary has shaped the error), and its own preflight answers.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 *   is answered here before the handler runs: 204 with the route's methods
 *   and headers for an allowed origin, 403 `ORIGIN_NOT_ALLOWED` without any
 *   CORS header otherwise.
 * - A plain `OPTIONS` gets 204 with `Allow` (RFC 9110 §9.3.7), except at a
 *   route that answers `OPTIONS` itself (the proxy forwards it).
 * - Every other answer gets `Vary: Origin` and, for an allowed origin only,
 *   `Access-Control-Allow-Origin` (that origin) and `Access-Control-Expose-Headers`.
 */
export function corsMiddleware({ rules, route }: BrowserCors): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const decorate = async (request: middy.Request<HttpEvent, HttpResult>) => {
    if (!rules.enabled || !request.response) return;
    request.response = withCors(request.response, rules.responseHeaders(header(request.event, 'origin')));
  };
  return {
    before: async (request) => {
      const event = request.event;
      if ((event.httpMethod ?? '').toUpperCase() !== 'OPTIONS') return undefined;
      const origin = header(event, 'origin');
      const preflight = origin !== undefined && header(event, 'access-control-request-method') !== undefined;
      if (route.ownOptions && !(preflight && rules.enabled)) return undefined;
      if (!preflight) return { statusCode: 204, headers: { Allow: [...route.methods, 'OPTIONS'].join(', ') }, body: '' };
      const answer = rules.preflight(origin, route, header(event, 'access-control-request-headers'));
      return answer ? { statusCode: 204, headers: record(answer), body: '' } : refusedPreflight();
    },
    after: decorate,
    onError: decorate,
  };
}
