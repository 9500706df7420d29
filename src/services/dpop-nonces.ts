import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import { epochSeconds, type Clock } from '../domain/clock';
import type { SigningKeySource } from '../ports/signing-keys';
import type { DpopNonceCheck } from '../domain/dpop-proof';

/** The `typ` of a nonce JWS: never `at+jwt`, so a nonce can never pass for an access token (or the reverse). */
export const DPOP_NONCE_TYP = 'tollgate-dpop-nonce+jwt';

/** Leeway for a nonce another instance minted with a clock slightly ahead. */
const NONCE_CLOCK_TOLERANCE_SECONDS = 5;

/** Longest nonce considered (an RS256 nonce is about 570 characters, ES256 about 310). */
const MAX_NONCE_LENGTH = 2_048;

/**
 * Stateless RFC 9449 server nonces (§8 at `/token`, §9 at the proxy): a nonce
 * is a compact JWS over `{iss, iat, exp}` signed with Tollgate's current
 * signing key, `typ: tollgate-dpop-nonce+jwt`. Every function that checks
 * proofs already loads that key set, so any instance accepts any instance's
 * nonces with no shared state and no new secret; a signing-key rotation
 * keeps working because old and staged keys stay published.
 *
 * Each process mints one nonce and hands it out until half its lifetime has
 * passed, so a client always holds one with at least half its lifetime left
 * and minting costs one signature per process per half-lifetime.
 *
 * What a nonce buys (RFC 9449 §11.2): a proof can only be made with a nonce
 * the server issued within `lifetimeSeconds`, so proofs cannot be made ahead
 * of time by code that briefly had the key's signing function (XSS). It does
 * not replace `jti` replay markers; both are checked.
 */
export class DpopNonces implements DpopNonceCheck {
  private minted?: { value: string; iat: number };

  constructor(
    private readonly keys: SigningKeySource,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly lifetimeSeconds: number,
  ) {}

  /** A nonce to send in `DPoP-Nonce` (the current one of this process, or a fresh one). */
  async current(): Promise<string> {
    const now = epochSeconds(this.clock);
    if (this.minted && now - this.minted.iat < this.lifetimeSeconds / 2 && now >= this.minted.iat) return this.minted.value;
    const { current } = await this.keys.load();
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: current.alg, kid: current.kid, typ: DPOP_NONCE_TYP })
      .setIssuer(this.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .sign(current.key);
    this.minted = { value, iat: now };
    return value;
  }

  /** True for a nonce this deployment signed that has not expired. */
  async accepts(nonce: unknown): Promise<boolean> {
    if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH) return false;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(nonce).kid;
    } catch {
      return false;
    }
    const keys = await this.keys.load();
    const key = kid ? keys.verificationKey(kid) : undefined;
    const alg = keys.publicJwks.find((jwk) => jwk.kid === kid)?.alg;
    if (!key || !alg) return false;
    try {
      await jwtVerify(nonce, key, {
        algorithms: [alg],
        typ: DPOP_NONCE_TYP,
        issuer: this.issuer,
        requiredClaims: ['iat', 'exp'],
        // Never accepted longer than the configured lifetime, whatever `exp` it carries (a lowered config applies at once).
        maxTokenAge: this.lifetimeSeconds,
        currentDate: new Date(this.clock.now()),
        clockTolerance: NONCE_CLOCK_TOLERANCE_SECONDS,
      });
      return true;
    } catch {
      return false;
    }
  }
}
