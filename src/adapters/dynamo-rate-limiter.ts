import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../domain/clock';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter';
import { toStoreError } from './dynamo-errors';

/** Prefix of rate-limit counters in the guards table (single-use markers use other prefixes). */
export const RATE_LIMIT_KEY_PREFIX = 'rl#';

/** Finished windows whose final count this process remembers (per key); the oldest is dropped first. */
const PREVIOUS_CACHE_ENTRIES = 10_000;

/** A counter item outlives the window after its own by this much, then DynamoDB's TTL may delete it. */
const TTL_SLACK_SECONDS = 60;

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
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly previousCounts = new Map<string, number>();
  private readonly previousReads = new Map<string, Promise<number>>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const windowMs = windowSeconds * 1000;
    const now = this.clock.now();
    const window = Math.floor(now / windowMs);
    const hashed = createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const [current, previous] = await Promise.all([
      this.increment(hashed, window, windowSeconds),
      this.previousCount(hashed, window - 1),
    ]);
    return slidingWindowDecision({ previous, current, elapsedMs: now - window * windowMs, windowMs, limit });
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
