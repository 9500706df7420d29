import type { AuthScheme, ProxyError, ProxyRefusalCode } from '../domain/errors';
import { DPOP_ALGORITHMS } from '../domain/dpop-proof';

interface Shape {
  status: number;
  /** RFC 6750 §3.1 code where one fits, else the code in lower case. */
  error: string;
  description: string;
}

/**
 * The fixed public face of each proxy refusal code, read by the one error
 * boundary (`errors.ts`). Descriptions never say more than this; the real
 * reason travels in `ProxyError.detail` to the request's log line.
 */
export const PROXY_ERRORS: Record<ProxyRefusalCode, Shape> = {
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

/** RFC 9449 §7.1: a DPoP challenge names the proof algorithms accepted. */
const DPOP_ALGS = `algs="${DPOP_ALGORITHMS.join(' ')}"`;

/**
 * RFC 6750 §3 challenges, or RFC 9449 §7.1 `DPoP` ones when the token was
 * presented with the DPoP scheme (or must be), exactly as the proxy's error
 * table prints them.
 */
export function proxyChallenge(error: ProxyError, presented: AuthScheme | undefined): Record<string, string> {
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
