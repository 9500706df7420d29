import type { Readable } from 'node:stream';
import type { ProxyConfig } from '../config/config';
import { AccessTokenError } from '../domain/errors';
import { missingScopes } from '../domain/scope';
import type { RateLimiter } from '../ports/rate-limiter';
import type { Telemetry } from '../ports/telemetry';
import type { AccessTokenClaims } from './access-tokens';
import type { SessionGate } from './session-gate';
import { MAX_TOKEN_LENGTH } from './subject-token-verifier';
import { forwardableRequestHeaders, headerSafe, returnableResponseHeaders, toWellFormed, type HeaderPair } from '../domain/header-rules';
import { UpstreamError, type UpstreamResponse, type UpstreamTransport } from '../ports/upstream';
import { canonicalProxyPath } from '../domain/path-hygiene';
import { DpopError, type DpopProofVerifier } from '../domain/dpop-proof';
import type { DpopNonces } from './dpop-nonces';
import { ProxyError, type AuthScheme } from '../domain/errors';
import { matchRoute, NO_ROUTE } from '../domain/route-rules';
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
  /** The URL the client called, without query, as API Gateway saw it: what a DPoP proof's `htu` must name (set for `Authorization: DPoP` requests). */
  url?: string;
}

export interface ProxyResponse {
  status: number;
  headers: HeaderPair[];
  /** The upstream's body as it arrives; the caller streams it to the client, or destroys it. */
  body: Readable;
  /** Body bytes the client may get (`proxy.maxResponseBytes`): the caller cuts the body past them. */
  bodyLimit: number;
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
  /** How the access token was presented, once the Authorization header is read (it decides the error's challenge). */
  scheme?: AuthScheme;
}

export interface ProxyServiceDeps {
  config: ProxyConfig;
  /** Proxied requests per subject and minute (`rateLimit.requestsPerMinute`). */
  requestsPerMinute: number;
  gate: SessionGate;
  /** RFC 9449 proof checks for `Authorization: DPoP` requests. */
  dpop: DpopProofVerifier;
  /** Server nonces, when `dpop.nonce` is on. */
  dpopNonces?: DpopNonces;
  limiter: RateLimiter;
  upstream: UpstreamTransport;
  credential?: UpstreamCredential;
  telemetry: Telemetry;
  /** Upstream body bytes streamed at most (`proxy.maxResponseBytes`). */
  maxResponseBytes: number;
  /** A body quiet for this long is cut (`proxy.responseIdleTimeoutMs`). */
  responseIdleTimeoutMs: number;
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** An access token as the request presented it. */
export interface PresentedToken {
  scheme: AuthScheme;
  token: string;
}

/**
 * The access token of a request and how it was presented: `Bearer` (RFC 6750
 * §2.1) or `DPoP` (RFC 9449 §7.1, the same token68 syntax); or the proxy's
 * error for its absence or shape (RFC 6750 §3.1).
 */
export function presentedToken(headers: readonly HeaderPair[]): PresentedToken {
  const values = headers.filter(([name]) => name === 'authorization').map(([, value]) => value);
  if (values.length === 0) throw new ProxyError('AUTH_REQUIRED', { detail: 'no Authorization header' });
  if (values.length > 1) throw new ProxyError('TOKEN_INVALID', { detail: 'several Authorization headers' });
  const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/.exec(values[0]!.trim());
  // RFC 9110 §11.1: the scheme is case-insensitive; another scheme means no access token was presented.
  const scheme = match?.[1]!.toLowerCase();
  if (!match || (scheme !== 'bearer' && scheme !== 'dpop')) throw new ProxyError('AUTH_REQUIRED', { detail: 'neither the Bearer nor the DPoP scheme' });
  const presented: AuthScheme = scheme === 'dpop' ? 'DPoP' : 'Bearer';
  const token = (match[2] ?? '').trim();
  if (token === '' || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
    throw new ProxyError('TOKEN_INVALID', { detail: `malformed ${presented} token`, scheme: presented });
  }
  return { scheme: presented, token };
}

/** Query parameters re-encoded per RFC 3986 (`%20`, never `+`), in the order API Gateway gave them. */
export function encodeQuery(query: readonly [string, string][]): string {
  // A lone surrogate (possible in a Lambda event's JSON) has no UTF-8 form: U+FFFD, as WHATWG URL encoders do, never a URIError.
  return query.map(([name, value]) => `${encodeURIComponent(toWellFormed(name))}=${encodeURIComponent(toWellFormed(value))}`).join('&');
}

/**
 * The bearer-validated proxy, step by step as issue 3 orders them: path
 * hygiene, the access token and its session (`SessionGate`, read-only) and,
 * for a DPoP-bound token, its proof (RFC 9449; writes one `jti` marker), the
 * first matching route rule and its scopes, the per-subject rate limit, then
 * the forward with header hygiene, identity headers and the upstream
 * credential (one refresh-and-retry after an upstream 401 when the
 * credential can be refreshed; the buffered body is simply sent again).
 *
 * The rate limit is leased quota (`DynamoRateLimiter`): most requests are
 * admitted from the instance's slice of the subject's budget with no store
 * request, and nothing is left running after the answer.
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
    const claims = await this.authenticate(request, trace);

    const matched = matchRoute(config.routes, request.method, path);
    if (!matched) throw new ProxyError('ROUTE_NOT_ALLOWED', { detail: `no rule for ${request.method.toUpperCase()}` });
    trace.route = matched.id;
    const missing = missingScopes(matched.rule.scopes, claims.scope.split(' '));
    if (missing.length > 0) {
      throw new ProxyError('INSUFFICIENT_SCOPE', { requiredScopes: matched.rule.scopes, detail: `missing ${missing.join(' ')}` });
    }

    // Admitted from this instance's leased slice when it holds one; a store request only to claim a new slice.
    const decision = await this.deps.limiter.hit(`proxy:${claims.sub}`, this.deps.requestsPerMinute, 60);
    if (!decision.allowed) {
      telemetry.emit({ type: 'RateLimited', limit: 'proxy_subject' });
      throw new ProxyError('RATE_LIMITED', { retryAfterSeconds: decision.retryAfterSeconds, detail: `${decision.count} in the window` });
    }
    return this.forwardAllowed(request, path, claims, trace);
  }

  /** Steps 5 and 6 for a request the rate limit let through: forward it and shape the upstream's answer. */
  private async forwardAllowed(request: ProxyRequest, path: string, claims: AccessTokenClaims, trace: ProxyTrace): Promise<ProxyResponse> {
    const { config } = this.deps;
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
    // The deadline covers everything up to the upstream's headers (a streamed body has its idle timeout instead), so
    // its timer is cleared once they are in: AbortSignal.timeout would keep a signal and a timer alive per request
    // for `timeoutMs` after the answer (measured: about 2 µs more per request, and garbage the collector must trace).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), config.timeoutMs);
    let response: UpstreamResponse;
    try {
      let applied: AppliedCredential | undefined;
      ({ response, applied } = await this.forward(request, url, headers, deadline.signal, trace));
      if (response.status === 401 && applied && this.deps.credential?.rejected(applied)) {
        trace.retried = true;
        response.body.resume(); // read to its end, so the keep-alive connection can be reused
        ({ response } = await this.forward(request, url, headers, deadline.signal, trace));
      }
    } finally {
      clearTimeout(timer);
    }
    try {
      const declared = Number(response.headers.find(([name]) => name === 'content-length')?.[1] ?? NaN);
      // Known before the first byte is sent (declared, or already here): still time for a status.
      if (declared > this.deps.maxResponseBytes) throw new ProxyError('UPSTREAM_RESPONSE_TOO_LARGE', { detail: `content-length ${declared}` });
      if (response.body.readableLength > this.deps.maxResponseBytes) throw new ProxyError('UPSTREAM_RESPONSE_TOO_LARGE', { detail: `more than ${this.deps.maxResponseBytes} bytes` });
      if (response.body.errored) throw new ProxyError('UPSTREAM_UNAVAILABLE', { detail: `${(response.body.errored as Error).message} before the first byte was sent` });
      const returned = returnableResponseHeaders(response.headers);
      // RFC 9449 §9: with server nonces on, every answer to a DPoP request carries a current nonce.
      if (trace.scheme === 'DPoP' && this.deps.dpopNonces) returned.push(['DPoP-Nonce', await this.deps.dpopNonces.current()]);
      return { status: response.status, headers: returned, body: response.body, bodyLimit: this.deps.maxResponseBytes };
    } catch (error) {
      response.body.destroy();
      throw error;
    }
  }

  /**
   * The token and its session (`SessionGate`), and for a DPoP-bound token
   * its proof (RFC 9449 §7.1): `htm` the request's method, `htu` the URL the
   * client called, `ath` the token's hash, signed by the token's `cnf.jkt`
   * key, `jti` unused. A bound token presented as Bearer, and an unbound one
   * presented as DPoP, are refused (§7.2).
   */
  private async authenticate(request: ProxyRequest, trace: ProxyTrace): Promise<AccessTokenClaims> {
    const { scheme, token } = presentedToken(request.headers);
    trace.scheme = scheme;
    let claims: AccessTokenClaims;
    try {
      ({ claims } = await this.deps.gate.check(token));
    } catch (error) {
      if (error instanceof AccessTokenError) throw new ProxyError(error.code, { detail: error.detail });
      throw error;
    }
    trace.sub = claims.sub;
    trace.sid = claims.sid;
    const jkt = claims.cnf?.jkt;
    if (scheme === 'Bearer') {
      if (jkt !== undefined) throw new ProxyError('TOKEN_INVALID', { detail: 'DPoP-bound token presented as Bearer', scheme: 'DPoP' });
      return claims;
    }
    if (typeof jkt !== 'string') throw new ProxyError('TOKEN_INVALID', { detail: 'unbound token presented as DPoP' });
    const proofs = request.headers.filter(([name]) => name === 'dpop');
    if (proofs.length !== 1) throw new ProxyError('DPOP_PROOF_INVALID', { detail: proofs.length === 0 ? 'no DPoP header' : 'several DPoP headers' });
    try {
      await this.deps.dpop.verify({ proof: proofs[0]![1].trim(), method: request.method, url: request.url ?? '', accessToken: token, expectedJkt: jkt });
    } catch (error) {
      if (!(error instanceof DpopError)) throw error;
      if (error.code === 'KEY_MISMATCH') throw new ProxyError('TOKEN_INVALID', { detail: error.detail });
      if (error.code === 'NONCE_REQUIRED' && this.deps.dpopNonces) {
        throw new ProxyError('DPOP_NONCE_REQUIRED', { detail: error.detail, dpopNonce: await this.deps.dpopNonces.current() });
      }
      throw new ProxyError('DPOP_PROOF_INVALID', { detail: error.detail });
    }
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
        bodyIdleTimeoutMs: this.deps.responseIdleTimeoutMs,
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

