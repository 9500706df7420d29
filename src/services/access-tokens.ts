import { randomUUID, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SessionKind } from '../config/config';
import { ACCESS_TOKEN_TYP, type TollgateClaims } from '../domain/access-token-claims';
import { AccessTokenError } from '../domain/errors';
import type { Clock } from '../domain/clock';
import type { ActiveSigningKey, PreparedVerificationKey, SigningKeySource } from '../ports/signing-keys';

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
    // Signed with the key prepared once per key set, synchronously (RFC 7515 §5.1): no key import, no thread-pool hop.
    const signingInput = `${base64url(JSON.stringify({ alg: current.alg, kid: current.kid, typ: ACCESS_TOKEN_TYP }))}.${base64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${signWith(current, signingInput).toString('base64url')}`;
    return { token, claims, expiresIn: exp - iat };
  }

  /**
   * Verifies signature (a published key, its own algorithm), `typ: at+jwt`,
   * `iss`, `aud`, `exp` and the presence of Tollgate's claims. Does not check
   * the session: that is `SessionGate`'s job. With `allowExpired` (revocation),
   * an expired but otherwise valid token is accepted.
   *
   * Tollgate's own tokens take the short path `node:crypto` allows: one
   * decode of the header, the `kid`'s key prepared once per key set
   * (`PreparedVerificationKey`), a synchronous signature check, then the
   * same claim checks jose's `jwtVerify` makes with these options (RFC 7519
   * §7.2, RFC 9068 §4). Only the shapes Tollgate issues are accepted: three
   * base64url parts, no `crit`, no `b64`, the key's own algorithm.
   */
  async verify(token: string, options: { allowExpired?: boolean } = {}): Promise<AccessTokenClaims> {
    const keys = await this.keys.load();
    const parts = COMPACT_JWS.exec(token);
    if (!parts) throw new AccessTokenError('TOKEN_INVALID', 'not a compact JWS');
    const [, encodedHeader, encodedPayload, encodedSignature] = parts as unknown as [string, string, string, string];
    const header = decodeJson(encodedHeader);
    if (!header) throw new AccessTokenError('TOKEN_INVALID', 'header is not a JSON object');
    const key = typeof header.kid === 'string' ? keys.preparedKey(header.kid) : undefined;
    if (!key) throw new AccessTokenError('TOKEN_INVALID', 'unknown kid');
    if (header.alg !== key.alg) throw new AccessTokenError('TOKEN_INVALID', 'algorithm is not the key\'s');
    // RFC 7515 §4.1.11: an extension Tollgate never sets must not be ignored; RFC 7797 `b64` changes what is signed.
    if (header.crit !== undefined || header.b64 !== undefined) throw new AccessTokenError('TOKEN_INVALID', 'unsupported header parameter');
    if (!isAccessTokenTyp(header.typ)) throw new AccessTokenError('TOKEN_INVALID', 'typ is not at+jwt');
    if (!verifySignature(key, `${encodedHeader}.${encodedPayload}`, encodedSignature)) throw new AccessTokenError('TOKEN_INVALID', 'signature');
    const payload = decodeJson(encodedPayload) as JWTPayload | undefined;
    if (!payload) throw new AccessTokenError('TOKEN_INVALID', 'payload is not a JSON object');

    const now = Math.floor(this.clock.now() / 1000);
    if (payload.iss !== this.issuer) throw new AccessTokenError('TOKEN_INVALID', 'iss mismatch');
    if (!(payload.aud === this.audience || (Array.isArray(payload.aud) && payload.aud.includes(this.audience)))) throw new AccessTokenError('TOKEN_INVALID', 'aud mismatch');
    for (const claim of REQUIRED_CLAIMS) if (payload[claim] === undefined) throw new AccessTokenError('TOKEN_INVALID', `${claim} missing`);
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') throw new AccessTokenError('TOKEN_INVALID', 'exp or iat not a number');
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now)) throw new AccessTokenError('TOKEN_INVALID', 'nbf');
    if (payload.iat > this.clock.now() / 1000 + VERIFY_CLOCK_TOLERANCE_SECONDS) throw new AccessTokenError('TOKEN_INVALID', 'iat in the future');
    // RFC 7519 §4.1.4: not accepted on or after exp (no leeway: Tollgate checks its own tokens).
    if (payload.exp <= now && !options.allowExpired) throw new AccessTokenError('TOKEN_EXPIRED', 'exp passed');
    return checkShape(payload);
  }
}

/** Three base64url parts (RFC 7515 §7.1), none empty; no padding, no other characters. */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'sid', 'jti'] as const;

/** RFC 9068 §4: `at+jwt`, or its full media type (case-insensitive, as RFC 7515 §4.1.9 allows). */
function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === ACCESS_TOKEN_TYP || lower === `application/${ACCESS_TOKEN_TYP}`;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** The JWS signature of `signingInput` with the current key (RFC 7518 §3.3, §3.4 as `r‖s`; RFC 8037 Ed25519). */
function signWith(key: ActiveSigningKey, signingInput: string): Buffer {
  const data = Buffer.from(signingInput, 'ascii');
  switch (key.alg) {
    case 'RS256':
      return cryptoSign('sha256', data, key.signingKey);
    case 'ES256':
      return cryptoSign('sha256', data, { key: key.signingKey, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return cryptoSign(null, data, key.signingKey);
    default:
      throw new Error(`signing key ${key.kid}: unsupported algorithm ${key.alg}`);
  }
}

/** RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: ECDSA P-256 with SHA-256, `r‖s` (RFC 7518 §3.4); EdDSA: Ed25519 (RFC 8037). */
function verifySignature(key: PreparedVerificationKey, signingInput: string, encodedSignature: string): boolean {
  const signature = Buffer.from(encodedSignature, 'base64url');
  const data = Buffer.from(signingInput, 'ascii');
  try {
    switch (key.alg) {
      case 'RS256':
        return cryptoVerify('sha256', data, key.key, signature);
      case 'ES256':
        return signature.length === 64 && cryptoVerify('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'EdDSA':
        return cryptoVerify(null, data, key.key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function checkShape(payload: JWTPayload): AccessTokenClaims {
  const claims = payload as Partial<AccessTokenClaims>;
  if (typeof claims.sid !== 'string' || typeof claims.scope !== 'string' || (claims.kind !== 'user' && claims.kind !== 'ci')) {
    throw new AccessTokenError('TOKEN_INVALID', 'missing Tollgate claims');
  }
  return claims as AccessTokenClaims;
}
