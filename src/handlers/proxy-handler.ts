import type { ProxyServices } from '../app/services';
import type { HttpEvent, HttpResult } from '../http/api-event';
import { bodyBytes, calledUrl, sourceIp } from '../http/api-event';
import { httpHandler, type HttpFunction, type Observability } from '../http/middleware';
import type { Readable } from 'node:stream';
import type { BodyInterruption, StatusClass } from '../ports/telemetry';
import { UpstreamError } from '../ports/upstream';
import { BodyInterruptedError, bufferingSink, ClientGoneError, writeResult, type ResponseHead, type StreamedResult, type StreamingHttpFunction } from '../http/response-stream';
import { corsPolicyFor, proxyBrowserRoute } from '../services/cors-policy';
import { headerPairs, type HeaderPair } from '../domain/header-rules';
import { ProxyError } from '../domain/errors';
import type { Refusal } from '../http/errors';
import type { ProxyRequest, ProxyTrace } from '../services/proxy-service';
import { NO_ROUTE } from '../domain/route-rules';

/** Media types returned as text (when valid UTF-8 and not content-encoded); every other body goes base64. */
const TEXT_TYPES = /^(text\/[^;]+|application\/(json|[^;]*\+json|xml|[^;]*\+xml|javascript|x-www-form-urlencoded|graphql))\s*(;|$)/i;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The literal prefix of each resource seen (`/proxy/{proxy+}` → `/proxy/`), worked out once per resource. */
const resourcePrefixes = new Map<string, string>();

/** The raw path after the resource's literal prefix (`/proxy/`), from `event.path` (never the decoded path parameter). */
export function rawProxyPath(event: HttpEvent): string | undefined {
  const resource = event.resource ?? '/proxy/{proxy+}';
  let prefix = resourcePrefixes.get(resource);
  if (prefix === undefined) {
    prefix = resource.replace(/\{[A-Za-z0-9_]+\+\}$/, '');
    // Resources come from the deployment (a handful), but a direct caller's event could carry any: bounded.
    if (resourcePrefixes.size < 64) resourcePrefixes.set(resource, prefix);
  }
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

const DPOP_SCHEME = /^dpop\s/i;

function toProxyRequest(event: HttpEvent, headers: HeaderPair[]): ProxyRequest {
  const rawPath = rawProxyPath(event);
  if (rawPath === undefined) throw new ProxyError('INVALID_PATH', { detail: 'path does not start with the proxy resource' });
  let proto: string | undefined;
  let dpop = false;
  for (const [name, value] of headers) {
    if (proto === undefined && name === 'x-forwarded-proto') proto = value;
    else if (name === 'authorization' && DPOP_SCHEME.test(value)) dpop = true;
  }
  const ip = sourceIp(event);
  return {
    method: event.httpMethod,
    rawPath,
    query: queryPairs(event),
    headers,
    body: bodyBytes(event),
    sourceIp: ip === 'unknown' ? undefined : ip,
    proto: proto === 'http' ? 'http' : 'https',
    // Only a DPoP proof's `htu` needs the called URL (RFC 9449 §4.3): not worked out for the other requests.
    url: dpop ? calledUrl(event) : undefined,
  };
}

/** Pairs into API Gateway's two header maps: single values in `headers`, repeated ones in `multiValueHeaders`. */
function headerMaps(pairs: readonly HeaderPair[]): Pick<HttpResult, 'headers' | 'multiValueHeaders'> {
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
  return { headers, ...(Object.keys(multiValueHeaders).length > 0 ? { multiValueHeaders } : {}) };
}

/** A whole answer as a Lambda result: text when it is, base64 otherwise. */
export function toHttpResult(status: number, pairs: readonly HeaderPair[], body: Buffer): HttpResult {
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
  return { statusCode: status, ...headerMaps(pairs), body: text ?? body.toString('base64'), isBase64Encoded: text === undefined };
}

/** The upstream's answer with its body still streaming, cut past `limit` bytes (`proxy.maxResponseBytes`). */
function toStreamedResult(status: number, pairs: readonly HeaderPair[], body: Readable, limit: number): StreamedResult {
  return {
    statusCode: status,
    ...headerMaps(pairs),
    body: '',
    isBase64Encoded: false,
    bodyStream: body,
    bodyLimit: { bytes: limit, error: () => new UpstreamError('too_large', `more than ${limit} bytes`, 0) },
  };
}

function headPairs(head: ResponseHead): HeaderPair[] {
  const pairs: HeaderPair[] = Object.entries(head.headers).map(([name, value]) => [name, value]);
  for (const [name, values] of Object.entries(head.multiValueHeaders ?? {})) for (const value of values) pairs.push([name, value]);
  return pairs;
}

/** Why a body stopped, for the metric's bounded `reason` dimension. */
function interruption(cause: unknown): BodyInterruption {
  if (cause instanceof ClientGoneError) return 'client_gone';
  if (cause instanceof UpstreamError) return cause.kind === 'too_large' ? 'too_large' : cause.kind === 'timeout' ? 'upstream_idle' : 'upstream_failed';
  return 'upstream_failed';
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
 * `ANY /proxy/{proxy+}`: the bearer-validated proxy (`ProxyService`),
 * streaming. The shared middy chain runs up to the upstream's headers: it
 * reads the raw path and the base64 body out of the event, decides the
 * status and headers (Tollgate's own refusals come out of the chain's error
 * boundary, before any byte is sent), and writes the request's one log line
 * (`proxy request`: method, route, status, upstream latency to its headers,
 * subject, sid, and for a refusal its code and private detail). Then the
 * body streams to the sink as it arrives (`writeResult`). A body that stops
 * after the status was sent (upstream failure or idle, over
 * `proxy.maxResponseBytes`, client gone) is logged and counted
 * (`ProxyResponseInterrupted`), and the handler rejects so the platform ends
 * the client's response abruptly: never a second status (when the client
 * went away there is nothing left to end, and the handler resolves).
 */
export function createStreamingProxyHandler(services: ProxyServices, observability: Observability): StreamingHttpFunction {
  /** What each in-flight request learnt, for the error boundary's `refused` hook and the body's interruption. */
  const inFlight = new WeakMap<HttpEvent, { method: string; trace: ProxyTrace }>();

  const record = <R extends HttpResult>(method: string, trace: ProxyTrace, result: R, refusal?: Refusal): R => {
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

  const chain = httpHandler(
    observability,
    async (event) => {
      const method = (event.httpMethod ?? 'GET').toUpperCase();
      const headers = headerPairs(event.headers, event.multiValueHeaders);
      const trace: ProxyTrace = { route: NO_ROUTE };
      inFlight.set(event, { method, trace });
      if (!services.proxy) throw new ProxyError('PROXY_NOT_CONFIGURED');
      const outcome = await services.proxy.handle(toProxyRequest(event, headers), trace);
      return record(method, trace, toStreamedResult(outcome.status, outcome.headers, outcome.body, outcome.bodyLimit));
    },
    { family: 'proxy', scheme: (event) => inFlight.get(event)?.trace.scheme, refused },
    // CORS (preflights included) is the shared chain's, from the one policy (`cors`, else `proxy.cors`).
    { rules: corsPolicyFor(services.config), route: proxyBrowserRoute(services.config.proxy?.routes ?? []) },
  );

  return async (event, sink, context) => {
    const result: StreamedResult = await chain(event, context);
    try {
      await writeResult(result, sink);
    } catch (error) {
      if (!(error instanceof BodyInterruptedError)) throw error;
      const trace = inFlight.get(event)?.trace ?? { route: NO_ROUTE };
      const reason = interruption(error.cause);
      services.telemetry.emit({
        type: 'ProxyResponseInterrupted',
        route: trace.route,
        reason,
        status: result.statusCode,
        bytes: error.bytes,
        sub: trace.sub,
        sid: trace.sid,
      });
      // The chain published this request's metrics when the head was decided; this one came after.
      if (observability.metrics.hasStoredMetrics()) observability.metrics.publishStoredMetrics();
      // Nobody is left to cut off when the client went away (and a function error per closed event stream would be noise).
      if (reason === 'client_gone') return;
      throw error;
    }
  };
}

/**
 * The same proxy for callers that need the whole answer in hand (the
 * bench's in-process store-request count, tests that call the handler
 * directly): the streamed answer collected into a Lambda result. A body that
 * fails mid-way rejects, as the streaming handler does.
 */
export function createProxyHandler(services: ProxyServices, observability: Observability): HttpFunction {
  const streaming = createStreamingProxyHandler(services, observability);
  return async (event, context) => {
    const { sink, answer } = bufferingSink();
    await streaming(event, sink, context);
    const { head, body } = answer();
    return toHttpResult(head.statusCode, headPairs(head), body);
  };
}
