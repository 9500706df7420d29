import { AccessTokenError, OAuthError, RateLimitedError, UnavailableError } from '../domain/errors';
import { json } from './responses';
import type { HttpResult } from './api-event';

export interface ErrorLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/**
 * The one boundary where errors leave the process. OAuth errors become RFC
 * 6749 §5.2 bodies; unavailability a 503 `temporarily_unavailable` with
 * Retry-After; rate limits a 429; anything else a bare 500 `server_error` with
 * nothing said (the log gets the stack, never a token).
 */
export function errorResponse(error: unknown, log: ErrorLogger): HttpResult {
  if (error instanceof OAuthError) {
    log.warn('request rejected', { error: error.error, reason: error.reason, detail: error.detail });
    return json(
      error.status,
      { error: error.error, error_description: error.description },
      {
        ...(error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : {}),
        ...(error.headers ?? {}),
      },
    );
  }
  if (error instanceof RateLimitedError) {
    log.warn('rate limited', { retryAfter: error.retryAfterSeconds });
    return json(
      429,
      { error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' },
      { 'Retry-After': String(error.retryAfterSeconds) },
    );
  }
  if (error instanceof UnavailableError) {
    log.error('dependency unavailable', { dependency: error.dependency, cause: describeCause(error.cause) });
    return json(
      503,
      { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' },
      { 'Retry-After': String(error.retryAfterSeconds) },
    );
  }
  if (error instanceof AccessTokenError) {
    // Only reached when a handler forgot to map it; still never a 500.
    log.warn('access token rejected', { code: error.code, detail: error.detail });
    return json(401, { error: 'invalid_token', error_description: 'the access token is not valid', code: error.code });
  }
  log.error('unhandled error', { error: describeCause(error), stack: error instanceof Error ? error.stack?.split('\n').slice(0, 8).join('\n') : undefined });
  return json(500, { error: 'server_error', error_description: 'internal error' });
}

/** A cause's name and message only: SDK errors can carry request data, so no raw objects. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? ` (${cause.cause.name}: ${cause.cause.message})` : '';
    return `${cause.name}: ${cause.message}${inner}`.slice(0, 500);
  }
  return String(cause).slice(0, 200);
}
