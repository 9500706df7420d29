import { AccessTokenError, RateLimitedError, UnavailableError } from '../domain/errors';
import type { HttpResult } from './api-event';
import { describeCause, errorResponse, type ErrorLogger } from './errors';
import { json } from './responses';
import { DPOP_ALGORITHMS } from '../domain/dpop-proof';

/** How the client presented its access token: `Authorization: Bearer` (RFC 6750) or `Authorization: DPoP` (RFC 9449 §7.1). */
export type AuthScheme = 'Bearer' | 'DPoP';

/** Every code the proxy answers with: the `code` member of its error bodies and the `ProxyRejected` dimension. */
export type ProxyErrorCode =
  | 'INVALID_PATH'
  | 'REQUEST_TOO_LARGE'
  | 'AUTH_REQUIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'SESSION_ENDED'
  | 'DPOP_PROOF_INVALID'
  | 'DPOP_NONCE_REQUIRED'
  | 'INSUFFICIENT_SCOPE'
  | 'ROUTE_NOT_ALLOWED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'RATE_LIMITED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_RESPONSE_TOO_LARGE'
  | 'STORE_UNAVAILABLE'
  | 'SIGNING_KEYS_UNAVAILABLE'
  | 'SECRETS_UNAVAILABLE'
  | 'ISSUER_UNAVAILABLE'
  | 'PROXY_NOT_CONFIGURED'
  | 'INTERNAL_ERROR';

/** Codes with a fixed shape; the `*_UNAVAILABLE` codes of Tollgate's own dependencies and `INTERNAL_ERROR` come from other errors. */
type ShapedCode = Exclude<ProxyErrorCode, 'STORE_UNAVAILABLE' | 'SIGNING_KEYS_UNAVAILABLE' | 'SECRETS_UNAVAILABLE' | 'ISSUER_UNAVAILABLE' | 'INTERNAL_ERROR'>;

interface Shape {
  status: number;
  /** RFC 6750 §3.1 code where one fits, else the code in lower case. */
  error: string;
  description: string;
}

/**
 * The fixed public face of each code. Descriptions never say more than this;
 * the real reason travels in `ProxyError.detail` to the request's log line.
 */
export const PROXY_ERRORS: Record<ShapedCode, Shape> = {
  INVALID_PATH: { status: 400, error: 'invalid_request', description: 'the request path is not allowed' },
  REQUEST_TOO_LARGE: { status: 413, error: 'invalid_request', description: 'the request body is too large' },
  AUTH_REQUIRED: { status: 401, error: 'auth_required', description: 'a bearer access token is required' },
  TOKEN_INVALID: { status: 401, error: 'invalid_token', description: 'the access token is not valid' },
  TOKEN_EXPIRED: { status: 401, error: 'invalid_token', description: 'the access token has expired' },
  SESSION_ENDED: { status: 401, error: 'invalid_token', description: 'the session has ended' },
  // RFC 9449 §7.1 and §9: the DPoP errors of a protected resource.
  DPOP_PROOF_INVALID: { status: 401, error: 'invalid_dpop_proof', description: 'the DPoP proof is not valid' },
  DPOP_NONCE_REQUIRED: { status: 401, error: 'use_dpop_nonce', description: 'the DPoP proof must carry the nonce of the DPoP-Nonce header' },
  INSUFFICIENT_SCOPE: { status: 403, error: 'insufficient_scope', description: 'the access token lacks a scope this route requires' },
  ROUTE_NOT_ALLOWED: { status: 403, error: 'route_not_allowed', description: 'no proxy route allows this request' },
  ORIGIN_NOT_ALLOWED: { status: 403, error: 'origin_not_allowed', description: 'this origin may not call the proxy' },
  RATE_LIMITED: { status: 429, error: 'rate_limited', description: 'too many requests, retry later' },
  UPSTREAM_TIMEOUT: { status: 504, error: 'upstream_timeout', description: 'the upstream did not answer in time' },
  UPSTREAM_UNAVAILABLE: { status: 502, error: 'upstream_unavailable', description: 'the upstream could not be reached' },
  UPSTREAM_RESPONSE_TOO_LARGE: { status: 502, error: 'upstream_response_too_large', description: 'the upstream response is too large to return' },
  PROXY_NOT_CONFIGURED: { status: 404, error: 'not_found', description: 'the proxy is not configured' },
};


/** A request the proxy refuses (or cannot complete), by code. */
export class ProxyError extends Error {
  readonly code: ShapedCode;
  /** Private detail for the log line. Never contains a token or a credential. */
  readonly detail?: string;
  readonly retryAfterSeconds?: number;
  /** For INSUFFICIENT_SCOPE: the scopes the matched rule requires (RFC 6750 §3 `scope` attribute). */
  readonly requiredScopes?: readonly string[];
  /** The challenge's scheme when it is not the one the client used (a DPoP-bound token sent as Bearer is told to use DPoP). */
  readonly scheme?: AuthScheme;
  /** For DPOP_NONCE_REQUIRED: the nonce to use (RFC 9449 §9 `DPoP-Nonce`). */
  readonly dpopNonce?: string;

  constructor(
    code: ShapedCode,
    options: { detail?: string; retryAfterSeconds?: number; requiredScopes?: readonly string[]; scheme?: AuthScheme; dpopNonce?: string; cause?: unknown } = {},
  ) {
    super(code, { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.requiredScopes = options.requiredScopes;
    this.scheme = options.scheme;
    this.dpopNonce = options.dpopNonce;
  }
}

/** RFC 9449 §7.1: a DPoP challenge names the proof algorithms accepted. */
const DPOP_ALGS = `algs="${DPOP_ALGORITHMS.join(' ')}"`;

/**
 * RFC 6750 §3 challenges, or RFC 9449 §7.1 `DPoP` ones when the token was
 * presented with the DPoP scheme (or must be), exactly as the proxy's error
 * table prints them.
 */
function challenge(error: ProxyError, presented: AuthScheme | undefined): Record<string, string> {
  const scheme = error.scheme ?? presented ?? 'Bearer';
  const attributes = (text: string) => ({ 'WWW-Authenticate': scheme === 'DPoP' ? `DPoP ${text}, ${DPOP_ALGS}` : `Bearer ${text}` });
  switch (error.code) {
    case 'AUTH_REQUIRED':
      // §3.1: a request without credentials gets no error attribute.
      return { 'WWW-Authenticate': 'Bearer realm="tollgate"' };
    case 'TOKEN_INVALID':
    case 'TOKEN_EXPIRED':
    case 'SESSION_ENDED':
      return attributes('error="invalid_token"');
    case 'INSUFFICIENT_SCOPE':
      return attributes(`error="insufficient_scope", scope="${(error.requiredScopes ?? []).join(' ')}"`);
    case 'DPOP_PROOF_INVALID':
      return { 'WWW-Authenticate': `DPoP error="invalid_dpop_proof", ${DPOP_ALGS}` };
    case 'DPOP_NONCE_REQUIRED':
      return { 'WWW-Authenticate': `DPoP error="use_dpop_nonce", ${DPOP_ALGS}`, ...(error.dpopNonce ? { 'DPoP-Nonce': error.dpopNonce } : {}) };
    default:
      return {};
  }
}

/** Turns whatever a proxy step threw into the proxy's error family; anything else stays as it was. */
export function toProxyError(error: unknown): ProxyError | UnavailableError | unknown {
  if (error instanceof AccessTokenError) return new ProxyError(error.code, { detail: error.detail });
  if (error instanceof RateLimitedError) return new ProxyError('RATE_LIMITED', { retryAfterSeconds: error.retryAfterSeconds });
  return error;
}

/** The code a thrown error answers with (the `ProxyRejected` dimension and the log line's `code`). */
export function proxyErrorCode(error: unknown): ProxyErrorCode {
  const mapped = toProxyError(error);
  if (mapped instanceof ProxyError) return mapped.code;
  if (mapped instanceof UnavailableError) return `${mapped.dependency.toUpperCase()}_UNAVAILABLE` as ProxyErrorCode;
  return 'INTERNAL_ERROR';
}

/** The private detail of a thrown error, for the request's one log line. */
export function proxyErrorDetail(error: unknown): string | undefined {
  const mapped = toProxyError(error);
  if (mapped instanceof ProxyError) return mapped.detail;
  if (mapped instanceof UnavailableError) return describeCause(mapped.cause ?? mapped);
  return undefined;
}

/**
 * The proxy's error boundary: `{ error, error_description, code }` with
 * `Cache-Control: no-store` and, for token failures, the RFC 6750 challenge
 * (RFC 9449 `DPoP` challenge when `scheme` — how the token was presented —
 * was DPoP). A failed dependency is 503 `temporarily_unavailable` with
 * `Retry-After`. Anything else is a programmer error: the shared boundary
 * answers a bare 500. Logs nothing for expected refusals (the request's one
 * log line carries the code and detail).
 */
export function proxyErrorResponse(error: unknown, log: ErrorLogger, scheme?: AuthScheme): HttpResult {
  const mapped = toProxyError(error);
  if (mapped instanceof ProxyError) {
    const shape = PROXY_ERRORS[mapped.code];
    return json(
      shape.status,
      { error: shape.error, error_description: shape.description, code: mapped.code },
      { ...challenge(mapped, scheme), ...(mapped.retryAfterSeconds ? { 'Retry-After': String(mapped.retryAfterSeconds) } : {}) },
    );
  }
  if (mapped instanceof UnavailableError) {
    return json(
      503,
      {
        error: 'temporarily_unavailable',
        error_description: 'the service is temporarily unavailable, retry later',
        code: proxyErrorCode(mapped),
      },
      { 'Retry-After': String(mapped.retryAfterSeconds) },
    );
  }
  const fallback = errorResponse(mapped, log);
  return json(fallback.statusCode, { ...(JSON.parse(fallback.body) as object), code: 'INTERNAL_ERROR' });
}
