import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { isSafeUrl } from '../config/config-rules';
import { IssuerKeysUnavailableError, type IssuerKeyLocation, type IssuerKeys as IssuerKeysPort } from '../ports/issuer-keys';
import { systemClock, type Clock } from '../domain/clock';

export type FetchLike = typeof fetch;

/**
 * Default timeouts and cache times for trusted issuers' key sets. Exported so
 * tests derive their bounds from the same numbers.
 */
export const ISSUER_KEY_DEFAULTS = {
  /** Per fetch of discovery or JWKS. */
  timeoutMs: 3_000,
  /** Least time between two JWKS fetches of one issuer once keys are held (successful or not). */
  cooldownMs: 30_000,
  /** Age after which held keys are refetched (in the foreground, at most once per cooldown). */
  cacheMaxAgeMs: 600_000,
  /** How long keys are still used after their refetch started failing (counted from the last success). */
  maxStaleMs: 86_400_000,
} as const;

/** Timeouts and cache times for trusted issuers' key sets (defaults: `ISSUER_KEY_DEFAULTS`). */
export interface IssuerKeyOptions {
  fetch?: FetchLike;
  /** The cooldown and cache ages run on this clock. @default systemClock */
  clock?: Clock;
  timeoutMs?: number;
  cooldownMs?: number;
  cacheMaxAgeMs?: number;
  maxStaleMs?: number;
}

export { IssuerKeysUnavailableError };

/** Thrown when OpenID discovery fails. */
export class IssuerDiscoveryError extends IssuerKeysUnavailableError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = 'IssuerDiscoveryError';
  }
}

/** One JWKS URI's keys: the last good set and when it was fetched, when a fetch was last tried, the fetch in flight. */
interface HeldKeys {
  keys?: JWTVerifyGetKey;
  fetchedAt?: number;
  attemptedAt?: number;
  inflight?: Promise<void>;
}

/**
 * Resolves each trusted issuer's JWKS (from `jwksUri`, or discovered once from
 * `{issuer}/.well-known/openid-configuration`) and hands jose a key lookup
 * over the keys held for it. Keys come only from there: jose never uses
 * `jku`, `x5u` or `jwk` headers, and neither does this class.
 *
 * What happens when the issuer fails (RFC 8725 §3.1 leaves the policy to us):
 * - **No keys held yet** (cold start): the fetch runs (one at a time, shared
 *   by concurrent callers) and its failure is `IssuerKeysUnavailableError`:
 *   503, and the next token tries again. A failed discovery is not cached.
 * - **An unknown `kid`** refetches at most once per `cooldownMs`, counted from
 *   the last attempt whether it succeeded or failed, so a flood of tokens
 *   with made-up `kid`s costs the issuer at most one request per cooldown per
 *   instance. When the refetch fails or is cooling down, the answer is
 *   `JWKSNoMatchingKey` (the token names no key Tollgate knows:
 *   `invalid_grant`), after at most `timeoutMs`.
 * - **Held keys older than `cacheMaxAgeMs`** are refetched (at most once per
 *   cooldown); while that fails, they keep verifying for up to `maxStaleMs`
 *   after their last successful fetch, then the issuer is unavailable (503).
 */
export class IssuerKeys implements IssuerKeysPort {
  private readonly sets = new Map<string, JWTVerifyGetKey>();
  private readonly discoveries = new Map<string, Promise<string>>();
  private readonly fetchImpl: FetchLike;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly maxStaleMs: number;

  constructor(options: IssuerKeyOptions = {}) {
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? ISSUER_KEY_DEFAULTS.timeoutMs;
    this.cooldownMs = options.cooldownMs ?? ISSUER_KEY_DEFAULTS.cooldownMs;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? ISSUER_KEY_DEFAULTS.cacheMaxAgeMs;
    this.maxStaleMs = options.maxStaleMs ?? ISSUER_KEY_DEFAULTS.maxStaleMs;
  }

  async keySet(trust: IssuerKeyLocation): Promise<JWTVerifyGetKey> {
    const jwksUri = trust.jwksUri ?? (await this.discover(trust.issuer));
    let set = this.sets.get(jwksUri);
    if (!set) {
      const held: HeldKeys = {};
      set = (header, token) => this.lookup(held, jwksUri, trust.issuer, header, token);
      this.sets.set(jwksUri, set);
    }
    return set;
  }

  private async lookup(held: HeldKeys, jwksUri: string, issuer: string, ...args: Parameters<JWTVerifyGetKey>): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    const keys = await this.usableKeys(held, jwksUri, issuer);
    try {
      return await keys(...args);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || this.coolingDown(held)) throw error;
      // The issuer may have rotated: look once more, but a failed look says nothing good about this token.
      const refreshed = await this.refetch(held, jwksUri).then(
        () => true,
        () => false,
      );
      if (!refreshed) throw error;
      return held.keys!(...args);
    }
  }

  /** The keys to verify with now, refetching cold or aged keys as the policy above says. */
  private async usableKeys(held: HeldKeys, jwksUri: string, issuer: string): Promise<JWTVerifyGetKey> {
    if (!held.keys) {
      try {
        await this.refetch(held, jwksUri);
      } catch (error) {
        throw new IssuerKeysUnavailableError(`keys of ${issuer} unavailable`, error);
      }
      return held.keys!;
    }
    const age = this.clock.now() - held.fetchedAt!;
    if (age >= this.cacheMaxAgeMs && !this.coolingDown(held)) {
      await this.refetch(held, jwksUri).catch(() => undefined);
    }
    if (this.clock.now() - held.fetchedAt! >= this.maxStaleMs) {
      throw new IssuerKeysUnavailableError(`keys of ${issuer} are stale and cannot be refetched`);
    }
    return held.keys;
  }

  private coolingDown(held: HeldKeys): boolean {
    return held.inflight !== undefined || (held.attemptedAt !== undefined && this.clock.now() - held.attemptedAt < this.cooldownMs);
  }

  /** One fetch at a time per JWKS URI; concurrent callers share it. Keeps the old keys when it fails. */
  private refetch(held: HeldKeys, jwksUri: string): Promise<void> {
    held.inflight ??= (async () => {
      held.attemptedAt = this.clock.now();
      const keys = createLocalJWKSet(await this.fetchJwks(jwksUri));
      held.keys = keys;
      held.fetchedAt = this.clock.now();
    })().finally(() => {
      held.inflight = undefined;
    });
    return held.inflight;
  }

  private async fetchJwks(jwksUri: string): Promise<JSONWebKeySet> {
    const response = await this.fetchImpl(jwksUri, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) throw new Error(`JWKS answered HTTP ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }

  private discover(issuer: string): Promise<string> {
    let pending = this.discoveries.get(issuer);
    if (!pending) {
      pending = this.fetchDiscovery(issuer);
      this.discoveries.set(issuer, pending);
      pending.catch(() => this.discoveries.delete(issuer));
    }
    return pending;
  }

  private async fetchDiscovery(issuer: string): Promise<string> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let metadata: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await this.fetchImpl(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      metadata = (await response.json()) as typeof metadata;
    } catch (error) {
      throw new IssuerDiscoveryError(`discovery failed for ${issuer}`, error);
    }
    // OpenID Connect Discovery §4.3: the issuer in the document must be the one we asked.
    if (metadata.issuer !== issuer || typeof metadata.jwks_uri !== 'string') {
      throw new IssuerDiscoveryError(`discovery document of ${issuer} names another issuer or no jwks_uri`);
    }
    if (!isSafeUrl(metadata.jwks_uri)) {
      throw new IssuerDiscoveryError(`discovered jwks_uri of ${issuer} is not https`);
    }
    return new URL(metadata.jwks_uri).href;
  }
}
