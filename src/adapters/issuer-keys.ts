import { createRemoteJWKSet, customFetch, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { isSafeUrl, type TrustConfig } from '../config/config';

export type FetchLike = typeof fetch;

/** Timeouts and cache times for trusted issuers' key sets. */
export interface IssuerKeyOptions {
  fetch?: FetchLike;
  /** Per fetch of discovery or JWKS. @default 3000 */
  timeoutMs?: number;
  /** Minimum time between refetches caused by an unknown `kid`. @default 30000 */
  cooldownMs?: number;
  /** How long a fetched JWKS is used before it is refetched. @default 600000 */
  cacheMaxAgeMs?: number;
}

/**
 * A trusted issuer's keys could not be had (network error, timeout, HTTP
 * status, a document that is not a JWK set): nothing can be said about the
 * token now. Callers answer 503 with Retry-After, not `invalid_grant`, so a
 * client holding a good token retries instead of giving up.
 */
export class IssuerKeysUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'IssuerKeysUnavailableError';
  }
}

/** Thrown when OpenID discovery fails. */
export class IssuerDiscoveryError extends IssuerKeysUnavailableError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = 'IssuerDiscoveryError';
  }
}

/** Key-set failures that are the token's doing (its `kid`/`alg` name no usable key), not the issuer's. */
function isTokenKeyError(error: unknown): boolean {
  return (
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSENotSupported
  );
}

/**
 * Resolves each trusted issuer's JWKS (from `jwksUri`, or discovered once from
 * `{issuer}/.well-known/openid-configuration`) and hands jose a remote key set
 * that caches keys and refetches on an unknown `kid` at most once per cooldown.
 * jose ignores `jku`, `x5u` and `jwk` headers: keys come only from here.
 * A failed discovery is not cached; the next token tries again.
 */
export class IssuerKeys {
  private readonly sets = new Map<string, JWTVerifyGetKey>();
  private readonly discoveries = new Map<string, Promise<string>>();
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly cacheMaxAgeMs: number;

  constructor(options: IssuerKeyOptions = {}) {
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
  }

  async keySet(trust: TrustConfig): Promise<JWTVerifyGetKey> {
    const jwksUri = trust.jwksUri ?? (await this.discover(trust.issuer));
    let set = this.sets.get(jwksUri);
    if (!set) {
      const remote = createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: this.timeoutMs,
        cooldownDuration: this.cooldownMs,
        cacheMaxAge: this.cacheMaxAgeMs,
        [customFetch]: this.fetchImpl,
      });
      set = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          if (isTokenKeyError(error)) throw error;
          throw new IssuerKeysUnavailableError(`keys of ${trust.issuer} unavailable`, error);
        }
      };
      this.sets.set(jwksUri, set);
    }
    return set;
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
