import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from './dynamo-commands';
import type { Clock } from '../domain/clock';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter';
import { isConditionFailure, toStoreError } from './dynamo-errors';

/** Prefix of rate-limit counters in the guards table (single-use markers use other prefixes). */
export const RATE_LIMIT_KEY_PREFIX = 'rl#';

/** How claims are sized (`rateLimit.leaseSeconds`, `rateLimit.maxClaimFraction`). */
export interface LeaseSettings {
  /**
   * A claim covers the demand this process saw, projected this many seconds
   * ahead (never past the window's end). 0 claims exactly the requests
   * waiting, which is one store write per request.
   */
  leaseSeconds: number;
  /** A claim takes at most this fraction of what is left of the window's budget (requests already waiting excepted). */
  maxClaimFraction: number;
}

export const LEASE_DEFAULTS: LeaseSettings = { leaseSeconds: 60, maxClaimFraction: 0.5 };

/** Finished windows whose final claimed total this process remembers (per key); the oldest is dropped first. */
const PREVIOUS_CACHE_ENTRIES = 10_000;

/** Keys whose lease this process remembers (in memory only; the store has their hashes); the oldest is dropped first, its unused slice with it. */
const KEY_STATE_ENTRIES = 10_000;

/** A counter item outlives the window after its own by this much, then DynamoDB's TTL may delete it. */
const TTL_SLACK_SECONDS = 60;

/** Claims lost to other instances' claims in a row before the request is refused on the shared total it saw. */
const MAX_CLAIM_ATTEMPTS = 4;

/** Demand is averaged over at least this long, so the first few requests of a key do not look like a flood. */
const MIN_DEMAND_SPAN_MS = 10_000;

/** What this process holds and knows of one key's current window. */
interface Lease {
  /** The key as the store knows it (`sha256`, base64url, 32 characters). */
  hashed: string;
  window: number;
  /** Unspent requests of this process's slices for `window`. */
  tokens: number;
  /** The highest claimed total of `window` the store has shown this process (a lower bound of the true total). */
  shared: number;
  /** The previous window's final claimed total, once read. */
  previous?: number;
  /** Requests this process admitted in `window`, and in the window before it (0 when it saw none). */
  admitted: number;
  admittedBefore: number;
  /** When this process first saw the key: demand is measured over at most this long. */
  since: number;
  /** Requests waiting for the claim in flight (one claim per key at a time). */
  waiters: number;
  claim?: Promise<void>;
  /** Refused on the shared total until then (ms); no store request before. */
  refusedUntil: number;
  refusedCount: number;
}

/**
 * Leased quota: a rate limit shared by every instance through one counter
 * item per key and window in the guards table (`rl#<sha256(key)>#<window
 * index>`, TTL `ttl`), with no store request on most admitted requests.
 *
 * The item holds the window's **claimed** total. A process that needs budget
 * claims a slice of `n` requests with one conditional `UpdateItem ADD`, which
 * succeeds only while the claimed total stays within what the sliding window
 * leaves (`count + n ≤ floor(limit − previous × (1 − elapsed/window))`,
 * `previous` being the finished window's final claimed total: assumed to be
 * `limit`, the most it can weigh, until that leaves too little for the claim,
 * then read once per process and window). It then admits from its slice locally, with no store
 * request, until the slice is spent or the window ends (an unspent slice is
 * dropped at the window's end, never carried over).
 *
 * **Guarantee**: per key and window, admitted ≤ claimed ≤ limit, and at every
 * instant `previous × (1 − elapsed/window) + claimed ≤ limit` (the sliding
 * estimate): every admission spends a unit of a slice the store granted for
 * that window, and each grant is a single conditional write on the one item,
 * so the store serializes them and none can take the total past the bound it
 * was checked against; the bound only grows as the previous window slides out.
 * Proof sketch and the under-admission bound: docs/proxy.md.
 *
 * **Sizing**: a claim covers the larger of the requests waiting for it and
 * the demand this process saw (its admissions over the last window-long span,
 * averaged over at least 10 s) projected `leaseSeconds` ahead, but at most
 * `maxClaimFraction` of what is left (requests already waiting are always
 * covered when the budget allows). A slow key claims 1; a busy one claims its
 * next half minute or so in one write, so a hot key's item sees a few writes
 * per instance and minute, far below a partition's write ceiling.
 *
 * **Refusals** are decided on the shared total the store returned (a claim
 * that found too little left), with `Retry-After` from the sliding window;
 * the process then refuses that key locally until `Retry-After` has passed,
 * without store requests. A refused request spends nothing.
 *
 * **Lost answers**: every claim carries a random id, kept on the item as
 * `claim`; the condition refuses a write whose id is already there. When the
 * answer to a claim is lost and the SDK sends it again, the second write
 * fails its condition, and the item (`ReturnValuesOnConditionCheckFailure`,
 * or a consistent read where a store does not return it) shows our id: the
 * slice is ours, counted once. A claim whose every answer is lost is an
 * `UnavailableError` (503) and its slice, if it landed, is under-admission.
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly previousCounts = new Map<string, number>();
  private readonly previousReads = new Map<string, Promise<number>>();
  private readonly leases = new Map<string, Lease>();
  private readonly settings: LeaseSettings;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    settings: Partial<LeaseSettings> = {},
  ) {
    this.settings = { ...LEASE_DEFAULTS, ...settings };
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const windowMs = windowSeconds * 1000;
    // Each round either admits, refuses, or waits for a claim that grants, refuses or fails; a few rounds at most.
    for (;;) {
      const now = this.clock.now();
      const lease = this.leaseFor(key, Math.floor(now / windowMs), now);
      if (lease.tokens > 0) {
        lease.tokens -= 1;
        lease.admitted += 1;
        const weighted = (lease.previous ?? 0) * (1 - (now - lease.window * windowMs) / windowMs);
        return { allowed: true, count: Math.ceil(weighted + lease.shared - lease.tokens), retryAfterSeconds: 0 };
      }
      if (now < lease.refusedUntil) {
        return { allowed: false, count: lease.refusedCount, retryAfterSeconds: Math.max(1, Math.ceil((lease.refusedUntil - now) / 1000)) };
      }
      lease.claim ??= this.claim(lease, limit, windowSeconds).finally(() => {
        lease.claim = undefined;
      });
      lease.waiters += 1;
      try {
        await lease.claim;
      } finally {
        lease.waiters -= 1;
      }
    }
  }

  /** This process's lease on a key for `window`; a new window starts empty, keeping the demand seen and a refusal still running. */
  private leaseFor(key: string, window: number, now: number): Lease {
    const known = this.leases.get(key);
    if (known && known.window === window) return known;
    const lease: Lease = {
      // Hashed once per key and window, and only here: the store never sees a subject or an address.
      hashed: known?.hashed ?? createHash('sha256').update(key).digest('base64url').slice(0, 32),
      window,
      tokens: 0,
      shared: 0,
      admitted: 0,
      admittedBefore: known?.window === window - 1 ? known.admitted : 0,
      since: known?.since ?? now,
      waiters: 0,
      refusedUntil: known?.refusedUntil ?? 0,
      refusedCount: known?.refusedCount ?? 0,
    };
    this.leases.delete(key);
    this.leases.set(key, lease);
    if (this.leases.size > KEY_STATE_ENTRIES) this.leases.delete(this.leases.keys().next().value!);
    return lease;
  }

  /**
   * Claims a slice for the lease's window, or records a refusal on the shared
   * total. Returns without either only when the window has ended meanwhile
   * (the caller starts over in the new one).
   */
  private async claim(lease: Lease, limit: number, windowSeconds: number): Promise<void> {
    const windowMs = windowSeconds * 1000;
    const { hashed } = lease;
    const pk = `${RATE_LIMIT_KEY_PREFIX}${hashed}#${lease.window}`;
    // The previous window's total, once known; until then a claim assumes it was full (the most it can weigh), which
    // only makes the bound stricter, and reads it only when that leaves too little: a slow key costs no read.
    let previous = lease.previous ?? this.previousCounts.get(`${RATE_LIMIT_KEY_PREFIX}${hashed}#${lease.window - 1}`);
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; ) {
      const now = this.clock.now();
      if (Math.floor(now / windowMs) !== lease.window) return;
      const elapsedMs = now - lease.window * windowMs;
      // The most the window's claimed total may reach now: the sliding estimate stays within the limit.
      const ceiling = Math.floor(limit - (previous ?? limit) * (1 - elapsedMs / windowMs));
      const left = ceiling - lease.shared;
      const forecast = this.forecast(lease, now, elapsedMs, windowMs);
      if (previous === undefined && left < Math.max(lease.waiters, 1, Math.min(forecast, Math.floor((limit - lease.shared) * this.settings.maxClaimFraction)))) {
        previous = lease.previous = await this.previousCount(hashed, lease.window - 1);
        continue;
      }
      if (left < 1) return this.refuse(lease, { previous: previous!, elapsedMs, windowMs, limit, now });
      const size = Math.min(left, Math.max(lease.waiters, 1, Math.min(forecast, Math.max(1, Math.floor(left * this.settings.maxClaimFraction)))));
      attempt += 1;
      const outcome = await this.tryClaim(pk, size, ceiling - size, (lease.window + 2) * windowSeconds + TTL_SLACK_SECONDS);
      lease.shared = Math.max(lease.shared, outcome.total);
      if (outcome.granted) {
        lease.tokens += size;
        return;
      }
      // Refused on an assumed full previous window: learn its real weight before judging again.
      if (previous === undefined) previous = lease.previous = await this.previousCount(hashed, lease.window - 1);
    }
    // Lost every race for what was left: refused on the last shared total seen.
    const now = this.clock.now();
    if (Math.floor(now / windowMs) !== lease.window) return;
    previous ??= lease.previous = await this.previousCount(hashed, lease.window - 1);
    this.refuse(lease, { previous, elapsedMs: now - lease.window * windowMs, windowMs, limit, now });
  }

  /** The requests this process expects for the key over the next `leaseSeconds` (never past the window's end). */
  private forecast(lease: Lease, now: number, elapsedMs: number, windowMs: number): number {
    const seen = lease.admittedBefore * (1 - elapsedMs / windowMs) + lease.admitted;
    const span = Math.min(windowMs, Math.max(MIN_DEMAND_SPAN_MS, now - lease.since));
    const horizon = Math.min(this.settings.leaseSeconds * 1000, windowMs - elapsedMs);
    return Math.ceil((seen / span) * horizon);
  }

  private refuse(lease: Lease, at: { previous: number; elapsedMs: number; windowMs: number; limit: number; now: number }): void {
    const decision = slidingWindowDecision({ previous: at.previous, current: lease.shared + 1, elapsedMs: at.elapsedMs, windowMs: at.windowMs, limit: at.limit });
    // After MAX_CLAIM_ATTEMPTS lost races the total may still leave room: a short, honest wait.
    const retryAfterSeconds = decision.allowed ? 1 : decision.retryAfterSeconds;
    lease.refusedUntil = at.now + retryAfterSeconds * 1000;
    lease.refusedCount = decision.count;
  }

  /**
   * One conditional claim of `size` on the window's item: granted only while
   * the claimed total before it is at most `maxBefore`. The `claim` id makes
   * a write whose answer was lost recognisable when the SDK sends it again.
   */
  private async tryClaim(pk: string, size: number, maxBefore: number, ttl: number): Promise<{ granted: boolean; total: number }> {
    const id = randomBytes(12).toString('base64url');
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET #ttl = :ttl, #claim = :id ADD #count :size',
          ConditionExpression: 'attribute_not_exists(#count) OR (#count <= :max AND (attribute_not_exists(#claim) OR #claim <> :id))',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#count': 'count', '#claim': 'claim' },
          ExpressionAttributeValues: { ':ttl': ttl, ':size': size, ':max': maxBefore, ':id': id },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { granted: true, total: Number(result.Attributes?.count ?? size) };
    } catch (error) {
      if (!isConditionFailure(error)) throw toStoreError(error);
      const item = failedConditionItem(error) ?? (await this.readItem(pk, true));
      // Our own write, sent again after its answer was lost: the slice is ours (counted once).
      if (item.claim === id) return { granted: true, total: item.count };
      return { granted: false, total: item.count };
    }
  }

  /** The final claimed total of a finished window: read once per process (concurrent callers share the read), then remembered. */
  private previousCount(hashed: string, window: number): Promise<number> {
    const pk = `${RATE_LIMIT_KEY_PREFIX}${hashed}#${window}`;
    const cached = this.previousCounts.get(pk);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.previousReads.get(pk);
    if (!pending) {
      pending = this.readItem(pk, true)
        .then(({ count }) => {
          this.previousCounts.set(pk, count);
          if (this.previousCounts.size > PREVIOUS_CACHE_ENTRIES) this.previousCounts.delete(this.previousCounts.keys().next().value!);
          return count;
        })
        .finally(() => this.previousReads.delete(pk));
      this.previousReads.set(pk, pending);
    }
    return pending;
  }

  private async readItem(pk: string, consistent: boolean): Promise<{ count: number; claim?: string }> {
    try {
      const result = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk },
          ConsistentRead: consistent,
          ProjectionExpression: '#count, #claim',
          ExpressionAttributeNames: { '#count': 'count', '#claim': 'claim' },
        }),
      );
      return { count: Number(result.Item?.count ?? 0), claim: typeof result.Item?.claim === 'string' ? result.Item.claim : undefined };
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/**
 * The item a failed condition returned (`ReturnValuesOnConditionCheckFailure`),
 * in wire form (`{ count: { N } }`, as the document client leaves it on errors)
 * or plain; undefined when the store sent none (dynalite does not).
 */
function failedConditionItem(error: unknown): { count: number; claim?: string } | undefined {
  const item = (error as { Item?: Record<string, unknown> } | null)?.Item;
  if (!item || typeof item !== 'object') return undefined;
  const value = (attribute: unknown): unknown => (attribute && typeof attribute === 'object' ? ((attribute as { N?: string; S?: string }).N ?? (attribute as { S?: string }).S) : attribute);
  const claim = value(item.claim);
  return { count: Number(value(item.count) ?? 0), claim: typeof claim === 'string' ? claim : undefined };
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
