import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { TollgateConfig, TrustConfig } from '../config/config';
import { OAuthError, UnavailableError, type RejectionReason } from '../domain/errors';
import type { Clock } from '../domain/clock';
import { IssuerKeysUnavailableError, type IssuerKeys } from '../adapters/issuer-keys';
import { ACCESS_TOKEN_TYP, describeJoseError } from './access-tokens';

/** Longest subject token accepted; real GitHub and Clerk tokens are under 2 KB. */
export const MAX_TOKEN_LENGTH = 16_384;

export interface VerifiedSubject {
  trust: TrustConfig;
  claims: JWTPayload & Record<string, unknown>;
}

/**
 * Verifies a subject token against the trusted issuers (RFC 8725 practices):
 * signature with a key from the issuer's JWKS only (`jku`, `x5u`, `jwk`
 * headers are never used), the issuer's algorithm allow-list (never `none`,
 * never HMAC), exact `iss`, `aud` against the configured audiences, required
 * `exp` and `sub`, `nbf`/`iat` with the configured leeway, Clerk's `azp`
 * allow-list and `sts: "pending"`. Does not check single use or trust rules:
 * the token service does.
 */
export class SubjectTokenVerifier {
  constructor(
    private readonly config: TollgateConfig,
    private readonly issuerKeys: IssuerKeys,
    private readonly clock: Clock,
    private readonly ownIssuer: string,
  ) {}

  async verify(token: string): Promise<VerifiedSubject> {
    let iss: unknown;
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
      iss = decodeJwt(token).iss;
    } catch {
      throw reject('malformed', 'subject token is not a signed JWT');
    }
    // RFC 8725 §3.11: an explicitly typed access token is never an identity assertion.
    if (typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === ACCESS_TOKEN_TYP) {
      throw reject('untrusted_issuer', 'access tokens are not accepted as subject tokens');
    }
    if (typeof iss !== 'string' || iss === this.ownIssuer) {
      throw reject('untrusted_issuer', 'subject token issuer is not trusted');
    }
    const candidates = this.config.trust.filter((trust) => trust.issuer === iss);
    if (candidates.length === 0) throw reject('untrusted_issuer', 'subject token issuer is not trusted');

    let firstFailure: OAuthError | undefined;
    for (const trust of candidates) {
      try {
        return { trust, claims: await this.verifyFor(trust, token) };
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        firstFailure ??= error;
      }
    }
    throw firstFailure!;
  }

  private async verifyFor(trust: TrustConfig, token: string): Promise<JWTPayload & Record<string, unknown>> {
    const now = this.clock.now();
    let payload: JWTPayload;
    try {
      const keySet = await this.issuerKeys.keySet(trust);
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: trust.issuer,
        audience: trust.audiences ? [...trust.audiences] : undefined,
        algorithms: [...trust.algorithms],
        clockTolerance: trust.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      throw mapVerificationError(error);
    }
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + trust.clockToleranceSeconds) {
      throw reject('not_yet_valid', 'subject token is not valid yet', 'iat in the future');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw reject('claims', 'subject token has no subject');
    if (payload.sts === 'pending') {
      throw reject('pending_session', 'the session behind the subject token is pending');
    }
    if (trust.authorizedParties && payload.azp !== undefined && !trust.authorizedParties.includes(String(payload.azp))) {
      throw reject('authorized_party', 'subject token was issued to a party that is not allowed');
    }
    return payload as JWTPayload & Record<string, unknown>;
  }
}

function reject(reason: RejectionReason, description: string, detail?: string): OAuthError {
  return new OAuthError('invalid_grant', description, { reason, detail: detail ?? reason });
}

/** Seconds a client should wait before retrying when an issuer's keys cannot be fetched. */
const ISSUER_RETRY_AFTER_SECONDS = 5;

/**
 * The one place jose's errors become OAuth errors for subject tokens. An
 * issuer whose keys cannot be fetched is not the token's fault: 503.
 */
function mapVerificationError(error: unknown): OAuthError | UnavailableError {
  if (error instanceof IssuerKeysUnavailableError) return new UnavailableError('issuer', error, ISSUER_RETRY_AFTER_SECONDS);
  const detail = describeJoseError(error);
  if (error instanceof joseErrors.JWTExpired) return reject('expired', 'subject token is expired', detail);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return reject('not_yet_valid', 'subject token is not valid yet', detail);
    if (error.claim === 'aud') return reject('audience', 'subject token audience is not accepted', detail);
    if (error.claim === 'iss') return reject('untrusted_issuer', 'subject token issuer is not trusted', detail);
    return reject('claims', 'subject token is not valid', detail);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return reject('algorithm', 'subject token is not valid', detail);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return reject('signature', 'subject token is not valid', detail);
  }
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return reject('signature', 'subject token is not valid', detail);
  if (error instanceof joseErrors.JOSEError) return reject('malformed', 'subject token is not valid', detail);
  return reject('signature', 'subject token could not be verified', detail);
}
