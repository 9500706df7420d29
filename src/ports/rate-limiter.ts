/** The outcome of counting one request against a budget. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests counted in the sliding window, this one included (an estimate, see the adapter). */
  count: number;
  /** When not allowed: whole seconds until a request would be allowed again (at least 1). */
  retryAfterSeconds: number;
  /**
   * Present when the decision was made on this instance's local count and
   * the store's counter write is still on its way (`background: true`).
   * Settles once the store has answered it or it has failed; it never
   * rejects (the implementation logs a failure and makes the key's next
   * `hit` wait for the store again). A caller that must not leave work
   * running after it answers (Lambda) awaits it before answering.
   */
  counted?: Promise<void>;
}

export interface RateLimitOptions {
  /**
   * Decide on this instance's local view of the key's count (the last count
   * it saw from the store plus its own requests since) and send the counter
   * write without waiting for it, once the instance has such a view for the
   * current window. The first request for a key in a window, and the next
   * one after a failed write, still wait for the store. The limit stays
   * global but may be overshot by a bounded amount: see the adapter.
   */
  background?: boolean;
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
  hit(key: string, limit: number, windowSeconds: number, options?: RateLimitOptions): Promise<RateLimitDecision>;
}
