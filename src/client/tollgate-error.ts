/**
 * The typed errors of the Tollgate client. Callers switch on `code`, never on
 * the message. Codes come from three places:
 * - the proxy's `code` field (upper case: `TOKEN_EXPIRED`, `INSUFFICIENT_SCOPE`, …);
 * - the token, revocation and introspection endpoints' RFC 6749 §5.2 `error`
 *   (lower case: `invalid_grant`, `temporarily_unavailable`, …), or their
 *   `code` when they send one (`RATE_LIMITED`);
 * - the client itself (`SUBJECT_TOKEN_UNAVAILABLE`, `NETWORK_ERROR`, …).
 */
import { PROXY_ERROR_CODES, type ProxyErrorCode } from '../contract/error-codes';

/**
 * What the Tollgate proxy says when it refuses or cannot complete a call (its
 * JSON `code`): the server's own catalogue, imported from the contract so the
 * two lists cannot drift.
 */
export { PROXY_ERROR_CODES, type ProxyErrorCode };

/** RFC 6749 §5.2 / RFC 8693 §2.2.2 / RFC 9449 §5, §8 errors of the token endpoint, and the generic 503/500 ones. */
export const TOKEN_ENDPOINT_ERROR_CODES = [
  'invalid_request',
  'invalid_grant',
  'invalid_scope',
  'invalid_target',
  'invalid_client',
  'unsupported_grant_type',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'temporarily_unavailable',
  'server_error',
] as const;
export type TokenEndpointErrorCode = (typeof TOKEN_ENDPOINT_ERROR_CODES)[number];

/** Failures the client detects itself. */
export type ClientErrorCode =
  /** `getSubjectToken` threw, or returned nothing (the user is signed out). */
  | 'SUBJECT_TOKEN_UNAVAILABLE'
  /**
   * The request got no HTTP answer the page may read: connection refused or
   * reset, DNS, TLS, or (in a browser) a cross-origin answer the browser
   * withheld because it lacked CORS headers for this page's origin. A browser
   * tells these apart to no script; the request may or may not have arrived.
   */
  | 'NETWORK_ERROR'
  /** The device is offline (`navigator.onLine` is false); nothing was sent. */
  | 'OFFLINE'
  /** The caller's `AbortSignal` ended the call (`cause` is the signal's reason). */
  | 'ABORTED'
  /** The answer started but its body was cut mid-read: the server did act on the request. */
  | 'RESPONSE_INTERRUPTED'
  /** Tollgate answered something that is not its documented shape. */
  | 'UNEXPECTED_RESPONSE'
  /** `client.fetch` was given a path that would leave the proxy (absolute URL, `..`); also the proxy's own code. */
  | 'INVALID_PATH';

export type TollgateErrorCode = ProxyErrorCode | TokenEndpointErrorCode | ClientErrorCode;

/** Which Tollgate call failed. */
export type TollgateEndpoint = 'token' | 'revoke' | 'verify' | 'proxy' | 'subject';

export interface TollgateErrorOptions {
  endpoint: TollgateEndpoint;
  /** HTTP status; 0 when there was no HTTP answer. */
  status?: number;
  /** The server's `error_description`, when it sent one. */
  description?: string;
  /** Seconds from the server's `Retry-After`, when it sent one. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** A Tollgate call failed. `code` is stable; `description` is the server's own text. */
export class TollgateError extends Error {
  readonly code: TollgateErrorCode;
  readonly endpoint: TollgateEndpoint;
  readonly status: number;
  readonly description?: string;
  readonly retryAfterSeconds?: number;

  constructor(code: TollgateErrorCode, options: TollgateErrorOptions) {
    super(options.description ? `${code}: ${options.description}` : code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TollgateError';
    this.code = code;
    this.endpoint = options.endpoint;
    this.status = options.status ?? 0;
    this.description = options.description;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * True for a `TollgateError` (optionally with one of `codes`). Works across
 * two copies of the client in one bundle, where `instanceof` does not.
 */
export function isTollgateError(error: unknown, ...codes: TollgateErrorCode[]): error is TollgateError {
  if (!(error instanceof TollgateError) && (error as { name?: unknown } | null)?.name !== 'TollgateError') return false;
  return codes.length === 0 || codes.includes((error as TollgateError).code);
}

const KNOWN_CODES = new Set<string>([...PROXY_ERROR_CODES, ...TOKEN_ENDPOINT_ERROR_CODES]);

/**
 * The error code of a Tollgate error body: its `code` when known (the proxy,
 * 429s), else its RFC 6749 `error` when known; undefined for anything else.
 */
export function errorCodeOf(body: unknown): ProxyErrorCode | TokenEndpointErrorCode | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { code, error } = body as { code?: unknown; error?: unknown };
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return code as ProxyErrorCode;
  if (typeof error === 'string' && KNOWN_CODES.has(error)) return error as TokenEndpointErrorCode;
  return undefined;
}
