import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../domain/clock';
import type { RateLimitDecision, RateLimitOptions, RateLimiter } from '../ports/rate-limiter';
import { toStoreError } from './dynamo-errors';

/** Prefix of rate-limit counters in the guards table (single-use markers use other prefixes). */
export const RATE_LIMIT_KEY_PREFIX = 'rl#';

/** Finished windows whose final count this process remembers (per key); the oldest is dropped first. */
const PREVIOUS_CACHE_ENTRIES = 10_000;

/** A counter item outlives the window after its own by this much, then DynamoDB's TTL may delete it. */
const TTL_SLACK_SECONDS = 60;

/** Keys whose current-window count this process remembers for local decisions; the oldest is dropped first. */
const LOCAL_COUNT_ENTRIES = 10_000;

/**
 * How close to the limit (in requests) a local decision may come: from
 * there on every request waits for the store, so the decision that refuses
 * is made on the shared count. 10 % of the limit, at least 1.
 */
export function nearLimitMargin(limit: number): number {
  return Math.max(1, Math.ceil(limit / 10));
}

/** Where a failed background counter write is reported (Powertools' `Logger` fits). */
export interface RateLimiterLog {
  warn(message: string, fields: Record<string, unknown>): void;
}

/** Without a logger: one JSON line on stderr, so a failure is never silent. */
const stderrLog: RateLimiterLog = {
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'WARN', message, ...fields })),
};

/**
 * What this process knows about one key's current window: the highest count
 * the store has returned for it, and this process's own increments sent since
 * whose answers have not come back.
 */
interface LocalCount {
  window: number;
  stored: number;
  pending: number;
}

/**
 * A sliding-window counter (the "sliding window counter" approximation) in the
 * guards table: one item per key and fixed window (`rl#<sha256(key)>#<window
 * index>`, TTL attribute `ttl`), incremented with one atomic `UpdateItem ADD`.
 * The estimate over the last `windowSeconds` is the previous window's count
 * weighted by how much of it still overlaps, plus the current count:
 * `previous × (1 − elapsed/window) + current`.
 *
 * Why not a fixed window: a fixed window lets a client send 2 × limit requests
 * around a window boundary. The sliding estimate allows at most about `limit`
 * in any window-long span, at the cost of one extra read per key and window
 * (the previous window's count is final once it is over, so each process
 * reads it once and remembers it).
 *
 * Every request is counted, rejected ones too: a client that keeps retrying
 * before `Retry-After` extends its own wait. The key is hashed, so no subject
 * or IP address is stored. Correctness never depends on TTL deletion: a
 * window's item is only ever read during the window after it.
 *
 * **Local decisions** (`background: true`, the proxy): once this process has
 * seen the store's count for a key in the current window (and the previous
 * window's final count), it decides on `last count seen + its own requests
 * whose writes are unanswered + this one` and sends the `UpdateItem` without
 * waiting; each answer raises the remembered count (the highest count
 * returned wins, so answers arriving out of order never lower it). The
 * store's counter stays the source of truth and every request still
 * increments it; only the decision may run on a slightly old count. These
 * requests wait for the store as before: the first for a key in a window
 * (nothing known), the next one after a failed background write (so a store
 * outage is an `UnavailableError`, 503, from that request on), and every
 * request whose local estimate comes within `nearLimitMargin(limit)` (10 %,
 * at least 1) of the limit, so the decision that refuses is normally made
 * on the shared count.
 *
 * **Overshoot bound** (compared with waiting for every write): a process
 * allows a request the shared count would refuse only when other processes
 * made more than `nearLimitMargin(limit)` requests it has not seen yet. Let
 * T be the moment the shared count passes the limit; a process learns it
 * from the answer to its first write applied after T. So per key and window
 * the excess is at most, per process, the requests it decides locally while
 * one store round trip is outstanding: those whose writes were in flight at
 * T, or, if none were, its first request after T plus those it decides
 * while that one's write is unanswered. A process that serves one request
 * at a time and answers only after its write has settled (a Lambda instance,
 * see `ProxyService`) adds at most **one request per instance** serving the
 * key in that window. Within one process nothing is missed: its own requests
 * are counted locally the moment they are decided, and a request that waits
 * for the store is judged on the store's count or on this process's own count
 * of requests decided but not yet answered, whichever is higher (the store's
 * answers can arrive out of order: DynamoDB Local let 22 of 20 through before
 * that). The price: under a burst near the limit, one process may refuse up
 * to the near-limit margin early; it never lets more than the limit through.
 *
 * A failed background write is logged (`rate-limit counter write failed`,
 * with the error's name and no key: the key would name a subject or an
 * address) and forgets the key's local count, so the next request waits for
 * the store (and fails closed if it is still down). The promise of a
 * background write never rejects.
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly previousCounts = new Map<string, number>();
  private readonly previousReads = new Map<string, Promise<number>>();
  private readonly localCounts = new Map<string, LocalCount>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly log: RateLimiterLog = stderrLog,
  ) {}

  async hit(key: string, limit: number, windowSeconds: number, options: RateLimitOptions = {}): Promise<RateLimitDecision> {
    const windowMs = windowSeconds * 1000;
    const now = this.clock.now();
    const window = Math.floor(now / windowMs);
    const hashed = createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const elapsedMs = now - window * windowMs;
    const local = this.localCounts.get(hashed);
    const previous = this.previousCounts.get(`${RATE_LIMIT_KEY_PREFIX}${hashed}#${window - 1}`);
    const localEstimate = local && local.window === window && previous !== undefined ? previous * (1 - elapsedMs / windowMs) + local.stored + local.pending + 1 : undefined;
    if (options.background && local && previous !== undefined && localEstimate !== undefined && localEstimate <= limit - nearLimitMargin(limit)) {
      // Decided before any await: concurrent callers in this process each see the others' requests.
      local.pending += 1;
      const current = local.stored + local.pending;
      const counted = this.increment(hashed, window, windowSeconds).then(
        (count) => {
          local.pending -= 1;
          local.stored = Math.max(local.stored, count);
        },
        (error: unknown) => {
          local.pending -= 1;
          if (this.localCounts.get(hashed) === local) this.localCounts.delete(hashed);
          try {
            this.log.warn('rate-limit counter write failed', { error: errorName(error), cause: errorName((error as { cause?: unknown } | null)?.cause), next: 'the key waits for the store again' });
          } catch {
            // A logger that throws must not turn this promise into an unhandled rejection.
          }
        },
      );
      return { ...slidingWindowDecision({ previous, current, elapsedMs, windowMs, limit }), counted };
    }
    // A waiting request is in flight too: local decisions made meanwhile must count it, or they undercount.
    const tracked = local && local.window === window ? local : undefined;
    // And it must count theirs: this instance's requests already decided but not yet in the store would otherwise
    // land after this write and be missing from the count it returns.
    const floor = tracked ? tracked.stored + tracked.pending + 1 : 0;
    if (tracked) tracked.pending += 1;
    let current: number;
    let previousCount: number;
    try {
      [current, previousCount] = await Promise.all([this.increment(hashed, window, windowSeconds), this.previousCount(hashed, window - 1)]);
    } finally {
      if (tracked) tracked.pending -= 1;
    }
    this.learn(hashed, window, current);
    return slidingWindowDecision({ previous: previousCount, current: Math.max(current, floor), elapsedMs, windowMs, limit });
  }

  /** Remembers a count the store returned for a key's window (the highest wins; a newer window replaces an older one). */
  private learn(hashed: string, window: number, count: number): void {
    const local = this.localCounts.get(hashed);
    if (local && local.window === window) {
      local.stored = Math.max(local.stored, count);
      return;
    }
    if (local && local.window > window) return;
    this.localCounts.delete(hashed);
    this.localCounts.set(hashed, { window, stored: count, pending: 0 });
    if (this.localCounts.size > LOCAL_COUNT_ENTRIES) this.localCounts.delete(this.localCounts.keys().next().value!);
  }

  private async increment(hashed: string, window: number, windowSeconds: number): Promise<number> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${RATE_LIMIT_KEY_PREFIX}${hashed}#${window}` },
          UpdateExpression: 'SET #ttl = :ttl ADD #count :one',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#count': 'count' },
          ExpressionAttributeValues: { ':ttl': (window + 2) * windowSeconds + TTL_SLACK_SECONDS, ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.count ?? 1);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** The final count of a finished window: read once per process (concurrent callers share the read), then remembered. */
  private previousCount(hashed: string, window: number): Promise<number> {
    const pk = `${RATE_LIMIT_KEY_PREFIX}${hashed}#${window}`;
    const cached = this.previousCounts.get(pk);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.previousReads.get(pk);
    if (!pending) {
      pending = this.readCount(pk).finally(() => this.previousReads.delete(pk));
      this.previousReads.set(pk, pending);
    }
    return pending;
  }

  private async readCount(pk: string): Promise<number> {
    let count: number;
    try {
      const result = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk }, ProjectionExpression: '#count', ExpressionAttributeNames: { '#count': 'count' } }),
      );
      count = Number(result.Item?.count ?? 0);
    } catch (error) {
      throw toStoreError(error);
    }
    this.previousCounts.set(pk, count);
    if (this.previousCounts.size > PREVIOUS_CACHE_ENTRIES) this.previousCounts.delete(this.previousCounts.keys().next().value!);
    return count;
  }
}

export interface SlidingWindowInput {
  /** Final count of the previous fixed window. */
  previous: number;
  /** Count of the current fixed window, this request included. */
  current: number;
  /** Time since the current window began. */
  elapsedMs: number;
  windowMs: number;
  limit: number;
}

/**
 * The sliding-window decision, and for a refusal the wait after which one more
 * request would be allowed if no other arrived: still in this window once
 * enough of the previous one has slid out, else in the next window (where this
 * window's count becomes the weighted one), else two windows on.
 */
export function slidingWindowDecision(input: SlidingWindowInput): RateLimitDecision {
  const { previous, current, elapsedMs, windowMs, limit } = input;
  const fraction = elapsedMs / windowMs;
  const estimate = previous * (1 - fraction) + current;
  if (estimate <= limit) return { allowed: true, count: Math.ceil(estimate), retryAfterSeconds: 0 };

  let waitMs = 2 * windowMs - elapsedMs;
  const roomInThisWindow = limit - current - 1;
  if (roomInThisWindow >= 0 && previous > 0) {
    const neededFraction = 1 - roomInThisWindow / previous;
    if (neededFraction < 1) waitMs = Math.min(waitMs, (neededFraction - fraction) * windowMs);
  }
  const neededNext = current > 0 ? Math.max(0, 1 - (limit - 1) / current) : 0;
  waitMs = Math.min(waitMs, windowMs - elapsedMs + neededNext * windowMs);
  return { allowed: false, count: Math.ceil(estimate), retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

/** An error's class name (never its message, which may quote a key). */
function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
