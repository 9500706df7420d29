import type { JWTVerifyGetKey } from 'jose';

/** Where a trusted issuer publishes its keys: its `jwksUri`, else OpenID discovery from `issuer`. */
export interface IssuerKeyLocation {
  readonly issuer: string;
  readonly jwksUri?: string;
}

/**
 * Trusted issuers' public keys, as a key lookup jose can verify with. The
 * lookup only ever answers from the issuer's own key set (never a `jku`,
 * `x5u` or `jwk` header). Implemented by `adapters/issuer-keys.ts` (remote
 * JWKS with a cache and a cooldown).
 */
export interface IssuerKeys {
  /**
   * The key lookup for one issuer. Rejects with `IssuerKeysUnavailableError`
   * when no keys can be had now (the caller answers 503, not `invalid_grant`);
   * the lookup itself throws jose's `JWKSNoMatchingKey` for a `kid` the issuer
   * does not publish.
   */
  keySet(issuer: IssuerKeyLocation): Promise<JWTVerifyGetKey>;
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
