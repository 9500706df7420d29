import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { TollgateConfig, TrustConfig } from '../config/config';
import { OAuthError, UnavailableError, type RejectionReason } from '../domain/errors';
import type { Clock } from '../domain/clock';
import { IssuerKeysUnavailableError, type IssuerKeys } from '../ports/issuer-keys';
import { classifyJoseError } from '../domain/jose-failure';
import { ACCESS_TOKEN_TYP } from './access-tokens';

/** Longest subject token accepted; real GitHub and Clerk tokens are under 2 KB. */
export const MAX_TOKEN_LENGTH = 16_384;

/**
 * Longest `sub`, `jti`, `sid` and `repository` accepted, in UTF-8 bytes. They
 * become store keys (`<trust>:<sub>`, single-use and webhook markers, the
 * session indexes `bySubject`, `byUpstreamSid`, `byRepository`) and DynamoDB
 * refuses keys over 2048 bytes; real ones are under 300.
 */
export const MAX_IDENTIFIER_BYTES = 1024;

/** The claims that become store keys (`MAX_IDENTIFIER_BYTES`). */
const IDENTIFIER_CLAIMS = ['sub', 'jti', 'sid', 'repository'] as const;

/**
 * Latest `exp` accepted, in seconds from now. GitHub's and Clerk's tokens
 * live minutes; a subject token valid for longer than a year is not a
 * session credential, and its single-use marker would have to outlive it.
 */
export const MAX_SUBJECT_TOKEN_LIFETIME_SECONDS = 366 * 86_400;

export interface VerifiedSubject {
  trust: TrustConfig;
  claims: JWTPayload & Record<string, unknown>;
  /**
   * What single use is keyed on: the token's `jti` when it has one, else a
   * digest of its canonical decoded header and claims (`canonicalTokenDigest`).
   * Never the token's bytes: two tokens that verify to the same header and
   * claims are one token, whatever their base64url spare bits or their
   * ECDSA signature twin `(r, n − s)`.
   */
  singleUseId: string;
}

/**
 * Verifies a subject token against the trusted issuers (RFC 8725 practices):
 * signature with a key from the issuer's JWKS only (`jku`, `x5u`, `jwk`
 * headers are never used), the issuer's algorithm allow-list (never `none`,
 * never HMAC), exact `iss`, `aud` against the configured audiences, required
 * `exp` and `sub`, `nbf`/`iat` with the configured leeway, Clerk's `azp`
 * allow-list and `sts: "pending"`. Without configured `audiences`, a token
 * that names any `aud` is refused (RFC 7519 §4.1.3: Tollgate cannot identify
 * itself with a value it was not told). Claims are data: every string in the
 * header and claims must be well-formed UTF-16 (no lone surrogate), `sub`,
 * `jti`, `sid` and `repository` fit `MAX_IDENTIFIER_BYTES`, and `exp` lies within
 * `MAX_SUBJECT_TOKEN_LIFETIME_SECONDS`; anything else is `invalid_grant` here,
 * never a 5xx or a session that fails later. Does not check single use or
 * trust rules: the token service does.
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
        return await this.verifyFor(trust, token);
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        firstFailure ??= error;
      }
    }
    throw firstFailure!;
  }

  private async verifyFor(trust: TrustConfig, token: string): Promise<VerifiedSubject> {
    const now = this.clock.now();
    let payload: JWTPayload;
    let protectedHeader: Record<string, unknown>;
    try {
      const keySet = await this.issuerKeys.keySet(trust);
      ({ payload, protectedHeader } = await jwtVerify(token, keySet, {
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
    // RFC 7519 §4.1.3: jose checks `aud` only against configured audiences; without them, any `aud` names someone else.
    if (!trust.audiences && payload.aud !== undefined) {
      throw reject('audience', 'subject token audience is not accepted', 'aud present, trust entry lists no audiences');
    }
    if (trust.authorizedParties && payload.azp !== undefined && !trust.authorizedParties.includes(String(payload.azp))) {
      throw reject('authorized_party', 'subject token was issued to a party that is not allowed');
    }
    const problem = claimProblem(protectedHeader, payload, now / 1000);
    if (problem) throw reject('claims', 'subject token is not valid', problem);
    const claims = payload as JWTPayload & Record<string, unknown>;
    const singleUseId = typeof claims.jti === 'string' && claims.jti !== '' ? claims.jti : canonicalTokenDigest(protectedHeader, claims);
    return { trust, claims, singleUseId };
  }
}

/** Lone UTF-16 surrogates (a pair is one code point under the `u` flag, so only unpaired halves match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Why verified claims are still unusable, or undefined: a string anywhere
 * (names included) that is not well-formed UTF-16, an identifier (`IDENTIFIER_CLAIMS`) past
 * `MAX_IDENTIFIER_BYTES`, an `exp` past `MAX_SUBJECT_TOKEN_LIFETIME_SECONDS`.
 * The reason is for the log; it never carries a claim value.
 */
export function claimProblem(header: Record<string, unknown>, claims: Record<string, unknown>, nowSeconds: number): string | undefined {
  const shape = jsonShapeProblem(header) ?? jsonShapeProblem(claims);
  if (shape) return shape;
  for (const name of IDENTIFIER_CLAIMS) {
    const value = claims[name];
    if (typeof value === 'string' && Buffer.byteLength(value, 'utf8') > MAX_IDENTIFIER_BYTES) return `${name} longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp) || claims.exp > nowSeconds + MAX_SUBJECT_TOKEN_LIFETIME_SECONDS) {
    return 'exp too far in the future';
  }
  return undefined;
}

/** Deepest nesting of objects and arrays accepted in a header or claims (real tokens nest two or three levels). */
export const MAX_CLAIM_DEPTH = 32;

/** A string or member name that is not well-formed UTF-16, or nesting past `MAX_CLAIM_DEPTH` (walked iteratively). */
function jsonShapeProblem(root: unknown): string | undefined {
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return 'a string that is not well-formed UTF-16';
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_CLAIM_DEPTH) return `nested deeper than ${MAX_CLAIM_DEPTH}`;
      for (const [name, member] of Object.entries(value)) {
        if (LONE_SURROGATE.test(name)) return 'a string that is not well-formed UTF-16';
        pending.push([member, depth + 1]);
      }
    }
  }
  return undefined;
}

/**
 * SHA-256 (base64url) of the token's decoded protected header and claims in
 * canonical JSON (RFC 8785 member order: names sorted by UTF-16 code units),
 * prefixed `sha256:`. What a signature covers, not how it was encoded: the
 * spare bits of base64url, the ECDSA twin `(r, n − s)` and the signature
 * bytes in general do not change it.
 */
export function canonicalTokenDigest(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const digest = createHash('sha256').update(canonicalJson({ header, claims })).digest('base64url');
  return `sha256:${digest}`;
}

/** RFC 8785-style canonical JSON of a parsed JSON value (numbers and strings as `JSON.stringify` writes them). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const names = Object.keys(value).sort();
    return `{${names.map((name) => `${JSON.stringify(name)}:${canonicalJson((value as Record<string, unknown>)[name])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
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
  const { reason, detail } = classifyJoseError(error);
  switch (reason) {
    case 'expired':
      return reject('expired', 'subject token is expired', detail);
    case 'not_yet_valid':
      return reject('not_yet_valid', 'subject token is not valid yet', detail);
    case 'audience':
      return reject('audience', 'subject token audience is not accepted', detail);
    case 'issuer':
      return reject('untrusted_issuer', 'subject token issuer is not trusted', detail);
    case 'claims':
    case 'algorithm':
    case 'signature':
      return reject(reason, 'subject token is not valid', detail);
    case 'keys_unavailable':
    case 'malformed':
      // The issuer's keys come from IssuerKeys (its failures are caught above): a jose key-source error here is the token's.
      return reject('malformed', 'subject token is not valid', detail);
    case 'other':
      return reject('signature', 'subject token could not be verified', detail);
  }
}
