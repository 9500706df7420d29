/**
 * When and how long the client waits before trying a call again: only after
 * 429 and 503 (the server said "not now"), only for idempotent methods at the
 * proxy, at most `maxRetries` times, never sooner than `Retry-After` says,
 * never longer than `maxDelayMs`, with jitter so many clients told the same
 * `Retry-After` do not come back in the same millisecond.
 */

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** The statuses that say "not now, try later". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

export interface RetryOptions {
  /** Retries after the first attempt. @default 2 */
  maxRetries?: number;
  /** Longest single wait; a `Retry-After` beyond it ends the retries at once. @default 30000 */
  maxDelayMs?: number;
  /** First backoff step when the server sent no `Retry-After` (doubles each time). @default 250 */
  baseDelayMs?: number;
  /** A number in [0, 1); inject for deterministic tests. @default Math.random */
  random?: () => number;
  /** Waits; inject to observe the waits in tests. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const maxRetries = options.maxRetries ?? 2;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) throw new TypeError('retry.maxRetries must be an integer from 0 to 10');
  return {
    maxRetries,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    baseDelayMs: options.baseDelayMs ?? 250,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

/**
 * RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date. Returns
 * milliseconds to wait from `nowMs`, or undefined when absent or malformed
 * (a date in the past means 0).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (the obsolete formats are not worth the risk of misreading).
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * How long to wait before retry number `attempt` (1-based), or undefined when
 * the client should stop: retries used up, or the server asks for longer than
 * `maxDelayMs`. With `Retry-After` the wait is that delay plus up to 20% (at
 * least 100 ms) of jitter, never less; without it, full-jitter exponential
 * backoff from `baseDelayMs`.
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, options: ResolvedRetryOptions): number | undefined {
  if (attempt > options.maxRetries) return undefined;
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > options.maxDelayMs) return undefined;
    const spread = Math.max(100, retryAfterMs * 0.2);
    return Math.min(options.maxDelayMs, Math.round(retryAfterMs + options.random() * spread));
  }
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(options.random() * ceiling);
}
