import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { classifyJoseError } from '../domain/jose-failure';
import type { SessionKind } from '../config/config';
import { ACCESS_TOKEN_TYP, type TollgateClaims } from '../domain/access-token-claims';
import { AccessTokenError } from '../domain/errors';
import type { Clock } from '../domain/clock';
import type { SigningKeySource } from '../ports/signing-keys';

export { ACCESS_TOKEN_TYP };

/** Tollgate access token claims (see `TollgateClaims`). */
export type AccessTokenClaims = TollgateClaims;

export interface AccessTokenInput {
  sub: string;
  sid: string;
  scope: string;
  kind: SessionKind;
  clientId: string;
  context: Record<string, unknown>;
  /** Absolute latest expiry (the session's end): the token never outlives its session. */
  notAfter: number;
  jkt?: string;
}

/**
 * Leeway for an `iat` slightly ahead of this function's clock (another function
 * signed it). None for `exp`: Tollgate checks its own tokens, and RFC 7662
 * §2.2 `active` means "not expired", so a token is dead at its `exp`.
 */
const VERIFY_CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Signs and verifies Tollgate's own access tokens: JWT with `typ: at+jwt`,
 * `kid`, signed with the current key from the signing key source.
 */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeySource,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly audience: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Loads the signing keys (a no-op while they are cached), so a caller can make
   * sure it will be able to sign BEFORE a write that commits (a refresh's rotation).
   */
  async ready(): Promise<void> {
    await this.keys.load();
  }

  async issue(input: AccessTokenInput): Promise<{ token: string; claims: AccessTokenClaims; expiresIn: number }> {
    const { current } = await this.keys.load();
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = Math.min(iat + this.ttlSeconds, input.notAfter);
    const claims: AccessTokenClaims = {
      // Context first, so it can never shadow a registered claim.
      ...input.context,
      iss: this.issuer,
      aud: this.audience,
      sub: input.sub,
      sid: input.sid,
      jti: randomUUID(),
      iat,
      exp,
      scope: input.scope,
      kind: input.kind,
      client_id: input.clientId,
      ...(input.jkt ? { cnf: { jkt: input.jkt } } : {}),
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: current.alg, kid: current.kid, typ: ACCESS_TOKEN_TYP })
      .sign(current.key);
    return { token, claims, expiresIn: exp - iat };
  }

  /**
   * Verifies signature (a published key, its own algorithm), `typ: at+jwt`,
   * `iss`, `aud`, `exp` and the presence of Tollgate's claims. Does not check
   * the session: that is `SessionGate`'s job. With `allowExpired` (revocation),
   * an expired but otherwise valid token is accepted.
   */
  async verify(token: string, options: { allowExpired?: boolean } = {}): Promise<AccessTokenClaims> {
    const keys = await this.keys.load();
    let payload: JWTPayload;
    try {
      // The header is decoded once, by jose; the key is the published key of that `kid`, with its own algorithm only.
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid ? keys.verificationKey(header.kid) : undefined;
          const alg = key ? keys.publicJwks.find((jwk) => jwk.kid === header.kid)?.alg : undefined;
          if (!key || !alg) throw new AccessTokenError('TOKEN_INVALID', 'unknown kid');
          if (header.alg !== alg) throw new AccessTokenError('TOKEN_INVALID', 'algorithm is not the key\'s');
          return key;
        },
        {
          issuer: this.issuer,
          audience: this.audience,
          algorithms: this.algorithms(keys),
          typ: ACCESS_TOKEN_TYP,
          requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
          clockTolerance: 0,
          currentDate: new Date(this.clock.now()),
        },
      ));
    } catch (error) {
      if (error instanceof AccessTokenError) throw error;
      const failure = classifyJoseError(error);
      if (failure.reason === 'expired') {
        const expired = failure.expiredPayload!;
        if (options.allowExpired && expired.iss === this.issuer && expired.aud === this.audience) return checkShape(expired);
        throw new AccessTokenError('TOKEN_EXPIRED', 'exp passed');
      }
      throw new AccessTokenError('TOKEN_INVALID', failure.detail);
    }
    if (typeof payload.iat === 'number' && payload.iat > this.clock.now() / 1000 + VERIFY_CLOCK_TOLERANCE_SECONDS) {
      throw new AccessTokenError('TOKEN_INVALID', 'iat in the future');
    }
    return checkShape(payload);
  }

  /** The algorithms of the published keys (never `none`, never HMAC: only what Tollgate signs with). */
  private algorithms(keys: Awaited<ReturnType<SigningKeySource['load']>>): string[] {
    return [...new Set(keys.publicJwks.map((jwk) => jwk.alg).filter((alg): alg is string => typeof alg === 'string'))];
  }
}

function checkShape(payload: JWTPayload): AccessTokenClaims {
  const claims = payload as Partial<AccessTokenClaims>;
  if (typeof claims.sid !== 'string' || typeof claims.scope !== 'string' || (claims.kind !== 'user' && claims.kind !== 'ci')) {
    throw new AccessTokenError('TOKEN_INVALID', 'missing Tollgate claims');
  }
  return claims as AccessTokenClaims;
}
