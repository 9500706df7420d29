import { errors, type JWTPayload } from 'jose';

/**
 * Why jose refused a JWT, in Tollgate's words. Bounded: it picks a response
 * and a metric reason, never a message.
 * - `keys_unavailable`: the key source failed (a remote JWKS timed out or
 *   answered other than 200), so nothing is known about the token;
 * - `other`: not a jose error at all.
 */
export type JoseFailureReason =
  | 'expired'
  | 'not_yet_valid'
  | 'audience'
  | 'issuer'
  | 'claims'
  | 'algorithm'
  | 'signature'
  | 'keys_unavailable'
  | 'malformed'
  | 'other';

export interface JoseFailure {
  reason: JoseFailureReason;
  /** jose's stable error code (`ERR_JWT_EXPIRED`, …), when it was a jose error. */
  code?: string;
  /** A loggable reason: the code, and for a claim check the claim and jose's reason. Never the token. */
  detail: string;
  /** For `expired`: the verified payload (signature and claims checked, only `exp` past), for callers that accept an expired token on purpose. */
  expiredPayload?: JWTPayload;
}

/**
 * The one place where jose's errors are translated (subject tokens, access
 * tokens, DPoP proofs and the verifier library all come through here).
 * Callers switch on `reason`; jose's error classes stay behind this function.
 */
export function classifyJoseError(error: unknown): JoseFailure {
  if (!(error instanceof errors.JOSEError)) return { reason: 'other', detail: 'unexpected verification failure' };
  const { code } = error;
  if (error instanceof errors.JWTExpired) return { reason: 'expired', code, detail: `${code}: ${error.claim} ${error.reason}`, expiredPayload: error.payload };
  if (error instanceof errors.JWTClaimValidationFailed) {
    const detail = `${code}: ${error.claim} ${error.reason}`;
    if (error.claim === 'nbf' || error.claim === 'iat') return { reason: 'not_yet_valid', code, detail };
    if (error.claim === 'aud') return { reason: 'audience', code, detail };
    if (error.claim === 'iss') return { reason: 'issuer', code, detail };
    return { reason: 'claims', code, detail };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return { reason: 'algorithm', code, detail: code };
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return { reason: 'signature', code, detail: code };
  }
  // jose reports a JWKS endpoint answering other than 200 as a generic error: the key source is down, not the token bad.
  if (error instanceof errors.JWKSTimeout || code === 'ERR_JOSE_GENERIC') return { reason: 'keys_unavailable', code, detail: code };
  return { reason: 'malformed', code, detail: code };
}
