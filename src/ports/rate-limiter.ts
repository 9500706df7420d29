/** The outcome of counting one request against a budget. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests counted in the sliding window, this one included (an estimate, see the adapter). */
  count: number;
  /** When not allowed: whole seconds until a request would be allowed again (at least 1). */
  retryAfterSeconds: number;
}

/**
 * Counts requests per key in a store every instance shares, so a limit holds
 * across all Lambda instances. Implementations throw `UnavailableError('store')`
 * when the store cannot answer (callers fail closed: 503, never unlimited).
 */
export interface RateLimiter {
  /**
   * Counts one request for `key` (a bounded, non-secret identifier: the
   * implementation hashes it) against `limit` requests per `windowSeconds`.
   */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
}
