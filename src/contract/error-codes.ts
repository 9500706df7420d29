/**
 * The error codes that cross Tollgate's boundary: what the proxy answers in
 * the `code` member of its error bodies (and the `ProxyRejected` metric's
 * dimension). The server (`src/domain/errors.ts`, `src/http/proxy-error.ts`)
 * and the client (`src/client/tollgate-error.ts`) both import this list, so
 * the two cannot drift. Adding a code is a contract change: add, never rename.
 */
export const PROXY_ERROR_CODES = [
  'INVALID_PATH',
  'REQUEST_TOO_LARGE',
  'AUTH_REQUIRED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'SESSION_ENDED',
  'DPOP_PROOF_INVALID',
  'DPOP_NONCE_REQUIRED',
  'INSUFFICIENT_SCOPE',
  'ROUTE_NOT_ALLOWED',
  'ORIGIN_NOT_ALLOWED',
  'RATE_LIMITED',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_RESPONSE_TOO_LARGE',
  'STORE_UNAVAILABLE',
  'SIGNING_KEYS_UNAVAILABLE',
  'SECRETS_UNAVAILABLE',
  'ISSUER_UNAVAILABLE',
  'PROXY_NOT_CONFIGURED',
  'INTERNAL_ERROR',
] as const;

/** Every code the proxy answers with. */
export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

/** The codes of Tollgate's own dependencies being down (503 `temporarily_unavailable`). */
export type UnavailableCode = 'STORE_UNAVAILABLE' | 'SIGNING_KEYS_UNAVAILABLE' | 'SECRETS_UNAVAILABLE' | 'ISSUER_UNAVAILABLE';
