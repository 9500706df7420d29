import type { ProxyErrorCode } from '../contract/error-codes';
import { AccessTokenError, OAuthError, ProxyError, RateLimitedError, UnavailableError, type AuthScheme } from '../domain/errors';
import { WebhookError } from '../domain/webhook-error';
import { PROXY_ERRORS, proxyChallenge } from './proxy-error';
import { json } from './responses';
import type { HttpResult } from './api-event';

export interface ErrorLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/**
 * Which error family a route answers in: `oauth` (the token, introspection,
 * revocation, metadata and webhook endpoints: RFC 6749 §5.2 bodies) or
 * `proxy` (a protected resource: RFC 6750 bodies with the proxy's `code`
 * and `WWW-Authenticate` challenges).
 */
export type ErrorFamily = 'oauth' | 'proxy';

export interface ErrorMappingOptions {
  family?: ErrorFamily;
  /** How the client presented its access token (proxy family): the challenge's scheme. */
  scheme?: AuthScheme;
}

/** What the boundary decided for one failed request. */
export interface Refusal {
  result: HttpResult;
  /** The proxy's code (proxy family only): the `ProxyRejected` dimension and the request log line's `code`. */
  code?: ProxyErrorCode;
  /** The private detail for the request's log line (proxy family only; never a token). */
  detail?: string;
}

/**
 * The one place where errors leave the process, run once per request as the
 * middy chain's `onError` (`middleware.ts`). Errors carry a code from the
 * domain; this decides their public face:
 * - OAuth errors: RFC 6749 §5.2 bodies; webhook refusals the same shape;
 * - proxy refusals (and access-token failures and rate limits met on the
 *   proxy path): RFC 6750 bodies with `code` and the `Bearer`/`DPoP`
 *   challenge;
 * - unavailability: 503 `temporarily_unavailable` with Retry-After;
 * - anything else: a bare 500 `server_error` with nothing said (the log gets
 *   the stack, never a token).
 * Expected proxy refusals log nothing here: the proxy's one request log line
 * carries the code and detail.
 */
export function mapError(error: unknown, log: ErrorLogger, options: ErrorMappingOptions = {}): Refusal {
  if (options.family === 'proxy') return proxyRefusal(error, log, options.scheme);
  const { status, body, headers } = oauthFace(error, log);
  return { result: json(status, body, headers) };
}

/** The response for a thrown error (see `mapError`). */
export function errorResponse(error: unknown, log: ErrorLogger, options: ErrorMappingOptions = {}): HttpResult {
  return mapError(error, log, options).result;
}

interface Face {
  status: number;
  body: Record<string, string>;
  headers?: Record<string, string>;
}

function oauthFace(error: unknown, log: ErrorLogger): Face {
  if (error instanceof OAuthError) {
    log.warn('request rejected', { error: error.error, reason: error.reason, detail: error.detail });
    return {
      status: error.status,
      body: { error: error.error, error_description: error.description },
      headers: { ...(error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : {}), ...(error.headers ?? {}) },
    };
  }
  if (error instanceof RateLimitedError) {
    log.warn('rate limited', { retryAfter: error.retryAfterSeconds });
    return {
      status: 429,
      body: { error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' },
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof UnavailableError) {
    log.error('dependency unavailable', { dependency: error.dependency, cause: describeCause(error.cause) });
    return {
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' },
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof WebhookError) {
    log.warn('clerk webhook refused', { reason: error.code, detail: error.detail });
    return error.status === 401
      ? { status: 401, body: { error: 'invalid_signature', error_description: 'webhook signature verification failed' } }
      : { status: 400, body: { error: 'invalid_request', error_description: 'malformed webhook delivery' } };
  }
  if (error instanceof AccessTokenError) {
    // Only reached when a non-proxy route met one; still never a 500.
    log.warn('access token rejected', { code: error.code, detail: error.detail });
    return { status: 401, body: { error: 'invalid_token', error_description: 'the access token is not valid', code: error.code } };
  }
  log.error('unhandled error', { error: describeCause(error), stack: error instanceof Error ? error.stack?.split('\n').slice(0, 8).join('\n') : undefined });
  return { status: 500, body: { error: 'server_error', error_description: 'internal error' } };
}

/** Access-token failures and rate limits met on the proxy path are proxy refusals with the same code. */
function asProxyError(error: unknown): ProxyError | undefined {
  if (error instanceof ProxyError) return error;
  if (error instanceof AccessTokenError) return new ProxyError(error.code, { detail: error.detail });
  if (error instanceof RateLimitedError) return new ProxyError('RATE_LIMITED', { retryAfterSeconds: error.retryAfterSeconds });
  return undefined;
}

/**
 * The proxy's face: `{ error, error_description, code }` with `Cache-Control:
 * no-store` and, for token failures, the RFC 6750 challenge (RFC 9449 `DPoP`
 * challenge when the token was presented with DPoP). A failed dependency is
 * 503 `temporarily_unavailable` with Retry-After and `<DEPENDENCY>_UNAVAILABLE`.
 * Anything else answers as the OAuth family would, with `INTERNAL_ERROR`.
 */
function proxyRefusal(error: unknown, log: ErrorLogger, scheme: AuthScheme | undefined): Refusal {
  const refusal = asProxyError(error);
  if (refusal) {
    const shape = PROXY_ERRORS[refusal.code];
    return {
      result: json(
        shape.status,
        { error: shape.error, error_description: shape.description, code: refusal.code },
        { ...proxyChallenge(refusal, scheme), ...(refusal.retryAfterSeconds ? { 'Retry-After': String(refusal.retryAfterSeconds) } : {}) },
      ),
      code: refusal.code,
      detail: refusal.detail,
    };
  }
  if (error instanceof UnavailableError) {
    const code = `${error.dependency.toUpperCase()}_UNAVAILABLE` as ProxyErrorCode;
    return {
      result: json(
        503,
        { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later', code },
        { 'Retry-After': String(error.retryAfterSeconds) },
      ),
      code,
      detail: describeCause(error.cause ?? error),
    };
  }
  const { status, body } = oauthFace(error, log);
  return { result: json(status, { ...body, code: 'INTERNAL_ERROR' }), code: 'INTERNAL_ERROR' };
}

/** A cause's name and message only: SDK errors can carry request data, so no raw objects. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? ` (${cause.cause.name}: ${cause.cause.message})` : '';
    return `${cause.name}: ${cause.message}${inner}`.slice(0, 500);
  }
  return String(cause).slice(0, 200);
}
