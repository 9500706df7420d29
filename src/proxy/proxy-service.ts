import type { ProxyConfig } from '../config/config';
import { AccessTokenError } from '../domain/errors';
import { missingScopes } from '../domain/scope';
import type { RateLimiter } from '../ports/rate-limiter';
import type { Telemetry } from '../ports/telemetry';
import type { AccessTokenClaims } from '../services/access-tokens';
import type { SessionGate } from '../services/session-gate';
import { MAX_TOKEN_LENGTH } from '../services/subject-token-verifier';
import { forwardableRequestHeaders, headerSafe, returnableResponseHeaders, type HeaderPair } from './header-rules';
import { UpstreamError, type UpstreamResponse, type UpstreamTransport } from './http-upstream';
import { canonicalProxyPath } from './path-hygiene';
import { ProxyError } from './proxy-error';
import { matchRoute, NO_ROUTE } from './route-rules';
import type { AppliedCredential, UpstreamCredential } from './upstream-credentials';

/** One request to the proxy, already out of its API Gateway event. */
export interface ProxyRequest {
  method: string;
  /** The raw (still percent-encoded) path after `/proxy/`, exactly as the client sent it. */
  rawPath: string;
  /** Query parameters as API Gateway parsed them (decoded), in order; a repeated name is repeated. */
  query: [string, string][];
  /** Lower-case names; repeated headers stay repeated. */
  headers: HeaderPair[];
  body: Buffer;
  /** The caller's address as API Gateway saw it (never the client's `X-Forwarded-For`). */
  sourceIp?: string;
  /** The scheme the client used to reach API Gateway. */
  proto: 'http' | 'https';
}

export interface ProxyResponse {
  status: number;
  headers: HeaderPair[];
  body: Buffer;
}

/** What the request's log line and metrics need, filled in as the steps pass (also when one throws). */
export interface ProxyTrace {
  /** The matched rule's id, else `none`. */
  route: string;
  sub?: string;
  sid?: string;
  /** Sum over the upstream attempts. */
  upstreamLatencyMs?: number;
  /** True when an upstream 401 made Tollgate refresh its credential and send again. */
  retried?: boolean;
}

export interface ProxyServiceDeps {
  config: ProxyConfig;
  /** Proxied requests per subject and minute (`rateLimit.requestsPerMinute`). */
  requestsPerMinute: number;
  gate: SessionGate;
  limiter: RateLimiter;
  upstream: UpstreamTransport;
  credential?: UpstreamCredential;
  telemetry: Telemetry;
  /** Upstream body bytes read at most (what a Lambda response can carry). */
  maxResponseBytes: number;
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The bearer token of a request, or the proxy's error for its absence or shape (RFC 6750 §2.1, §3.1). */
export function bearerToken(headers: readonly HeaderPair[]): string {
  const values = headers.filter(([name]) => name === 'authorization').map(([, value]) => value);
  if (values.length === 0) throw new ProxyError('AUTH_REQUIRED', { detail: 'no Authorization header' });
  if (values.length > 1) throw new ProxyError('TOKEN_INVALID', { detail: 'several Authorization headers' });
  const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/.exec(values[0]!.trim());
  // RFC 9110 §11.1: the scheme is case-insensitive; another scheme means no bearer token was presented.
  if (!match || match[1]!.toLowerCase() !== 'bearer') throw new ProxyError('AUTH_REQUIRED', { detail: 'not the Bearer scheme' });
  const token = (match[2] ?? '').trim();
  if (token === '' || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
    throw new ProxyError('TOKEN_INVALID', { detail: 'malformed bearer token' });
  }
  return token;
}

/** Query parameters re-encoded per RFC 3986 (`%20`, never `+`), in the order API Gateway gave them. */
export function encodeQuery(query: readonly [string, string][]): string {
  return query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

/**
 * The bearer-validated proxy, step by step as issue 3 orders them: path
 * hygiene, the access token and its session (`SessionGate`, read-only), the
 * first matching route rule and its scopes, the per-subject rate limit, then
 * the forward with header hygiene, identity headers and the upstream
 * credential (one refresh-and-retry after an upstream 401 when the
 * credential can be refreshed; the buffered body is simply sent again).
 *
 * The upstream base never changes: the URL is `upstreamUrl` + the canonical
 * path + the re-encoded query, whatever `Host` or `X-Forwarded-*` the client
 * sends. Redirects are returned, never followed.
 */
export class ProxyService {
  private readonly base: string;

  constructor(private readonly deps: ProxyServiceDeps) {
    this.base = deps.config.upstreamUrl.replace(/\/+$/, '');
  }

  async handle(request: ProxyRequest, trace: ProxyTrace): Promise<ProxyResponse> {
    const { config, telemetry } = this.deps;
    trace.route = NO_ROUTE;
    const path = canonicalProxyPath(request.rawPath);
    const claims = await this.authenticate(request.headers, trace);

    const matched = matchRoute(config.routes, request.method, path);
    if (!matched) throw new ProxyError('ROUTE_NOT_ALLOWED', { detail: `no rule for ${request.method.toUpperCase()}` });
    trace.route = matched.id;
    const missing = missingScopes(matched.rule.scopes, claims.scope.split(' '));
    if (missing.length > 0) {
      throw new ProxyError('INSUFFICIENT_SCOPE', { requiredScopes: matched.rule.scopes, detail: `missing ${missing.join(' ')}` });
    }

    const decision = await this.deps.limiter.hit(`proxy:${claims.sub}`, this.deps.requestsPerMinute, 60);
    if (!decision.allowed) {
      telemetry.emit({ type: 'RateLimited', limit: 'proxy_subject' });
      throw new ProxyError('RATE_LIMITED', { retryAfterSeconds: decision.retryAfterSeconds, detail: `${decision.count} in the window` });
    }
    if (request.body.length > config.maxRequestBytes) {
      throw new ProxyError('REQUEST_TOO_LARGE', { detail: `${request.body.length} bytes` });
    }

    const query = encodeQuery(request.query);
    const url = new URL(`${this.base}${path}${query ? `?${query}` : ''}`);
    const headers: HeaderPair[] = [
      ...forwardableRequestHeaders(request.headers, {
        allowList: config.forwardHeaders,
        credentialHeader: this.deps.credential?.headerName,
      }),
      ...(request.sourceIp ? [['x-forwarded-for', request.sourceIp] as HeaderPair] : []),
      ['x-forwarded-proto', request.proto],
      ...identityHeaders(claims),
    ];
    const signal = AbortSignal.timeout(config.timeoutMs);
    let { response, applied } = await this.forward(request, url, headers, signal, trace);
    if (response.status === 401 && applied && this.deps.credential?.rejected(applied)) {
      trace.retried = true;
      ({ response } = await this.forward(request, url, headers, signal, trace));
    }
    return { status: response.status, headers: returnableResponseHeaders(response.headers), body: response.body };
  }

  private async authenticate(headers: readonly HeaderPair[], trace: ProxyTrace): Promise<AccessTokenClaims> {
    const token = bearerToken(headers);
    let claims: AccessTokenClaims;
    try {
      ({ claims } = await this.deps.gate.check(token));
    } catch (error) {
      if (error instanceof AccessTokenError) throw new ProxyError(error.code, { detail: error.detail });
      throw error;
    }
    trace.sub = claims.sub;
    trace.sid = claims.sid;
    // RFC 9449 §7.2: a DPoP-bound token presented as a plain bearer token is refused.
    if (claims.cnf) throw new ProxyError('TOKEN_INVALID', { detail: 'DPoP-bound token presented as Bearer' });
    return claims;
  }

  private async forward(
    request: ProxyRequest,
    url: URL,
    headers: HeaderPair[],
    signal: AbortSignal,
    trace: ProxyTrace,
  ): Promise<{ response: UpstreamResponse; applied?: AppliedCredential }> {
    const applied = await this.deps.credential?.current(signal);
    try {
      const response = await this.deps.upstream.send({
        method: request.method.toUpperCase(),
        url,
        headers: applied ? [...headers, applied.header] : headers,
        body: request.body,
        signal,
        maxResponseBytes: this.deps.maxResponseBytes,
      });
      this.recordLatency(trace, response.latencyMs);
      return { response, applied };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      this.recordLatency(trace, error.latencyMs);
      if (error.kind === 'timeout') {
        this.deps.telemetry.emit({ type: 'ProxyUpstreamTimeout', route: trace.route });
        throw new ProxyError('UPSTREAM_TIMEOUT', { detail: error.detail });
      }
      if (error.kind === 'too_large') throw new ProxyError('UPSTREAM_RESPONSE_TOO_LARGE', { detail: error.detail });
      throw new ProxyError('UPSTREAM_UNAVAILABLE', { detail: error.detail });
    }
  }

  private recordLatency(trace: ProxyTrace, ms: number): void {
    const rounded = Math.round(ms);
    trace.upstreamLatencyMs = (trace.upstreamLatencyMs ?? 0) + rounded;
    this.deps.telemetry.emit({ type: 'ProxyUpstreamLatency', route: trace.route, ms: rounded });
  }
}

/** The headers that tell the upstream who is calling (seed 001): subject, session, scopes, kind, and the repository for ci. */
export function identityHeaders(claims: AccessTokenClaims): HeaderPair[] {
  const headers: HeaderPair[] = [
    ['x-tollgate-subject', headerSafe(claims.sub)],
    ['x-tollgate-session', headerSafe(claims.sid)],
    ['x-tollgate-scopes', headerSafe(claims.scope)],
    ['x-tollgate-kind', claims.kind],
  ];
  const repository = claims.kind === 'ci' ? claims.gh?.repository : undefined;
  if (typeof repository === 'string' && repository !== '') headers.push(['x-tollgate-repository', headerSafe(repository)]);
  return headers;
}
