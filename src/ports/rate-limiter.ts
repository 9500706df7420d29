/** The outcome of asking a budget for one request. */
export interface RateLimitDecision {
  allowed: boolean;
  /**
   * The budget taken in the sliding window as far as this instance knows it:
   * the store's claimed total (weighted previous window + current) when it
   * last saw it. For a refusal it is the shared count the refusal was
   * decided on.
   */
  count: number;
  /** When not allowed: whole seconds until a request would be allowed again (at least 1). */
  retryAfterSeconds: number;
}

/**
 * A per-key budget every instance shares, so a limit holds across all
 * Lambda instances. Implementations throw `UnavailableError('store')` when a
 * request needs the store and it cannot answer (callers fail closed: 503,
 * never unlimited).
 */
export interface RateLimiter {
  /**
   * Admits or refuses one request for `key` (a bounded, non-secret
   * identifier: the implementation hashes it) against `limit` requests per
   * `windowSeconds`. An admitted request has spent one unit of the budget;
   * a refused one spends nothing.
   */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
}
