import type { ProxyServices } from '../app/services';
import type { HttpEvent, HttpResult } from '../http/api-event';
import { bodyBytes, calledUrl, sourceIp } from '../http/api-event';
import { httpHandler, type Observability } from '../http/middleware';
import type { StatusClass } from '../ports/telemetry';
import { corsPolicyFor, proxyBrowserRoute } from '../services/cors-policy';
import { headerPairs, type HeaderPair } from '../domain/header-rules';
import { ProxyError } from '../domain/errors';
import type { Refusal } from '../http/errors';
import type { ProxyRequest, ProxyTrace } from '../services/proxy-service';
import { LAMBDA_RESPONSE_LIMIT_BYTES, LAMBDA_RESPONSE_MARGIN_BYTES } from '../domain/response-limits';
import { NO_ROUTE } from '../domain/route-rules';

/** Media types returned as text (when valid UTF-8 and not content-encoded); every other body goes base64. */
const TEXT_TYPES = /^(text\/[^;]+|application\/(json|[^;]*\+json|xml|[^;]*\+xml|javascript|x-www-form-urlencoded|graphql))\s*(;|$)/i;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The raw path after the resource's literal prefix (`/proxy/`), from `event.path` (never the decoded path parameter). */
export function rawProxyPath(event: HttpEvent): string | undefined {
  const prefix = (event.resource ?? '/proxy/{proxy+}').replace(/\{[A-Za-z0-9_]+\+\}$/, '');
  const at = (event.path ?? '').indexOf(prefix);
  return at === -1 ? undefined : event.path.slice(at + prefix.length);
}

function queryPairs(event: HttpEvent): [string, string][] {
  const pairs: [string, string][] = [];
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) for (const value of values ?? []) pairs.push([name, value]);
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

function toProxyRequest(event: HttpEvent, headers: HeaderPair[]): ProxyRequest {
  const rawPath = rawProxyPath(event);
  if (rawPath === undefined) throw new ProxyError('INVALID_PATH', { detail: 'path does not start with the proxy resource' });
  const proto = headers.find(([name]) => name === 'x-forwarded-proto')?.[1];
  const ip = sourceIp(event);
  return {
    method: event.httpMethod,
    rawPath,
    query: queryPairs(event),
    headers,
    body: bodyBytes(event),
    sourceIp: ip === 'unknown' ? undefined : ip,
    proto: proto === 'http' ? 'http' : 'https',
    url: calledUrl(event),
  };
}

/** Pairs into API Gateway's two header maps: single values in `headers`, repeated ones in `multiValueHeaders`. */
export function toHttpResult(status: number, pairs: readonly HeaderPair[], body: Buffer): HttpResult {
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of pairs) {
    const entry = grouped.get(name.toLowerCase());
    if (entry) entry.values.push(value);
    else grouped.set(name.toLowerCase(), { name, values: [value] });
  }
  // Names are data: an upstream header named `__proto__` must not become the map's prototype.
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  for (const { name, values } of grouped.values()) {
    if (values.length === 1) headers[name] = values[0]!;
    else multiValueHeaders[name] = values;
  }
  const contentType = pairs.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const encoding = pairs.find(([name]) => name.toLowerCase() === 'content-encoding')?.[1]?.trim().toLowerCase();
  let text: string | undefined;
  if (body.length === 0) text = '';
  else if (TEXT_TYPES.test(contentType) && (!encoding || encoding === 'identity')) {
    try {
      text = utf8.decode(body);
    } catch {
      text = undefined;
    }
  }
  return {
    statusCode: status,
    headers,
    ...(Object.keys(multiValueHeaders).length > 0 ? { multiValueHeaders } : {}),
    body: text ?? body.toString('base64'),
    isBase64Encoded: text === undefined,
  };
}

function resultPairs(result: HttpResult): HeaderPair[] {
  const pairs: HeaderPair[] = Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) for (const value of values) pairs.push([name, String(value)]);
  return pairs;
}

function statusClass(status: number): StatusClass {
  return `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as StatusClass;
}

/**
 * `ANY /proxy/{proxy+}`: the bearer-validated proxy (`ProxyService`). This
 * adapter reads the raw path and the base64 body out of the event, turns
 * the upstream's answer into a Lambda result (text, or base64 for anything
 * else; 502 `UPSTREAM_RESPONSE_TOO_LARGE` when it cannot fit Lambda's
 * response limit), and writes the request's one log line
 * (`proxy request`: method, route, status, upstream latency, subject, sid,
 * and for a refusal its code and private detail).
 */
export function createProxyHandler(services: ProxyServices, observability: Observability) {
  /** What each in-flight request learnt, for the error boundary's `refused` hook. */
  const inFlight = new WeakMap<HttpEvent, { method: string; trace: ProxyTrace }>();

  const record = (method: string, trace: ProxyTrace, result: HttpResult, refusal?: Refusal) => {
    services.telemetry.emit({
      type: 'ProxyRequest',
      route: trace.route,
      statusClass: statusClass(result.statusCode),
      method,
      status: result.statusCode,
      upstreamLatencyMs: trace.upstreamLatencyMs,
      sub: trace.sub,
      sid: trace.sid,
      ...(trace.retried ? { retried: true } : {}),
      ...(refusal?.code ? { code: refusal.code, detail: refusal.detail } : {}),
    });
    return result;
  };

  /** The boundary decided the refusal (once); this records it. */
  const refused = (event: HttpEvent, refusal: Refusal): HttpResult => {
    const state = inFlight.get(event) ?? { method: (event.httpMethod ?? 'GET').toUpperCase(), trace: { route: NO_ROUTE } };
    const result = toHttpResult(refusal.result.statusCode, resultPairs(refusal.result), Buffer.from(refusal.result.body));
    services.telemetry.emit({ type: 'ProxyRejected', code: refusal.code ?? 'INTERNAL_ERROR' });
    return record(state.method, state.trace, result, refusal);
  };

  return httpHandler(
    observability,
    async (event) => {
      const method = (event.httpMethod ?? 'GET').toUpperCase();
      const headers = headerPairs(event.headers, event.multiValueHeaders);
      const trace: ProxyTrace = { route: NO_ROUTE };
      inFlight.set(event, { method, trace });
      if (!services.proxy) throw new ProxyError('PROXY_NOT_CONFIGURED');
      const outcome = await services.proxy.handle(toProxyRequest(event, headers), trace);
      const result = toHttpResult(outcome.status, outcome.headers, outcome.body);
      const size = Buffer.byteLength(JSON.stringify(result));
      if (size > LAMBDA_RESPONSE_LIMIT_BYTES - LAMBDA_RESPONSE_MARGIN_BYTES) {
        throw new ProxyError('UPSTREAM_RESPONSE_TOO_LARGE', { detail: `${outcome.body.length} body bytes, ${size} serialized` });
      }
      return record(method, trace, result);
    },
    { family: 'proxy', scheme: (event) => inFlight.get(event)?.trace.scheme, refused },
    // CORS (preflights included) is the shared chain's, from the one policy (`cors`, else `proxy.cors`).
    { rules: corsPolicyFor(services.config), route: proxyBrowserRoute(services.config.proxy?.routes ?? []) },
  );
}
