/**
 * Tollgate's error vocabulary. Three families meet one boundary (`http/errors.ts`):
 * OAuth errors at the token endpoints (RFC 6749 §5.2 bodies), bearer-token
 * failures at resource endpoints (RFC 6750), and unavailability (503). Anything
 * else is a programmer error and leaves the process as a bare 500.
 *
 * Descriptions are fixed public strings; the real reason goes in `detail`, which
 * is logged (never with a token) and never returned.
 */
import type { ProxyErrorCode, UnavailableCode } from '../contract/error-codes';

/**
 * A refusal by code: callers switch on `code` (a string-literal union), never
 * on the message; `detail` is the private reason for the log line (never a
 * token, a proof or key material). The domain's refusal classes extend it.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  readonly detail: string;
  constructor(name: string, code: Code, detail: string, message: string = code) {
    super(message);
    this.name = name;
    this.code = code;
    this.detail = detail;
  }
}

/** RFC 6749 §5.2, RFC 8693 §2.2.2 and RFC 6749 §4.1.2.1 error codes Tollgate uses. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_client'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

/** Bounded set of reasons for the `TokenRejected` metric's `reason` dimension. */
export type RejectionReason =
  | 'malformed'
  | 'untrusted_issuer'
  | 'signature'
  | 'algorithm'
  | 'expired'
  | 'not_yet_valid'
  | 'claims'
  | 'audience'
  | 'authorized_party'
  | 'pending_session'
  | 'no_matching_rule'
  | 'scope'
  | 'replayed'
  | 'refresh_invalid'
  | 'refresh_reused'
  | 'session_ended'
  | 'rate_limited'
  | 'dpop';

export interface ErrorOptions {
  /** Private detail for the log line. Never contains a token. */
  detail?: string;
  reason?: RejectionReason;
  status?: number;
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly description: string;
  readonly status: number;
  readonly detail?: string;
  readonly reason?: RejectionReason;
  readonly retryAfterSeconds?: number;
  readonly headers?: Record<string, string>;

  constructor(error: OAuthErrorCode, description: string, options: ErrorOptions = {}) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.error = error;
    this.description = description;
    this.status = options.status ?? 400;
    this.detail = options.detail;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers;
  }
}

/**
 * A dependency (store, key source, secret, the refresh function the token
 * function delegates to) failed or timed out: 503 `temporarily_unavailable`
 * with `Retry-After`.
 */
export class UnavailableError extends Error {
  readonly dependency: 'store' | 'signing_keys' | 'secrets' | 'issuer' | 'refresh_function';
  readonly retryAfterSeconds: number;
  constructor(dependency: UnavailableError['dependency'], cause?: unknown, retryAfterSeconds = 1) {
    super(`${dependency} unavailable`, { cause });
    this.name = 'UnavailableError';
    this.dependency = dependency;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 429: over a rate limit. */
export class RateLimitedError extends Error {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('rate limited');
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Why a Tollgate access token was not accepted (the vocabulary of the proxy and the verifier library). */
export type AccessTokenFailure = 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'SESSION_ENDED';

export class AccessTokenError extends CodedError<AccessTokenFailure> {
  constructor(code: AccessTokenFailure, detail: string) {
    super('AccessTokenError', code, detail);
  }
}

/** How the client presented its access token: `Authorization: Bearer` (RFC 6750) or `Authorization: DPoP` (RFC 9449 §7.1). */
export type AuthScheme = 'Bearer' | 'DPoP';

/** Codes a `ProxyError` carries; the `*_UNAVAILABLE` codes and `INTERNAL_ERROR` come from other errors at the boundary. */
export type ProxyRefusalCode = Exclude<ProxyErrorCode, UnavailableCode | 'INTERNAL_ERROR'>;

/**
 * A request the proxy refuses (or cannot complete), by code. Its public face
 * (status, RFC 6750 body, challenge) is decided at the one boundary,
 * `http/errors.ts`.
 */
export class ProxyError extends Error {
  readonly code: ProxyRefusalCode;
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
    code: ProxyRefusalCode,
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
