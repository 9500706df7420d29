import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import type { Clock } from '../domain/clock';
import type { ReplayGuard } from '../ports/replay-guard';

/** RFC 9449 §5.1: the algorithms Tollgate accepts for DPoP proofs (asymmetric only). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;

/** How far a proof's `iat` may be from now (RFC 9449 §11.1 leaves the window to the server). */
export const DPOP_IAT_WINDOW_SECONDS = 60;

/** Longest DPoP header accepted. */
const MAX_PROOF_LENGTH = 8_192;

export type DpopFailure = 'invalid_dpop_proof' | 'use_dpop_nonce';

export class DpopError extends Error {
  readonly error: DpopFailure;
  readonly detail: string;
  constructor(detail: string, error: DpopFailure = 'invalid_dpop_proof') {
    super(error);
    this.name = 'DpopError';
    this.error = error;
    this.detail = detail;
  }
}

export interface DpopCheck {
  /** The DPoP header value (exactly one). */
  proof: string;
  /** The request method (`htm`). */
  method: string;
  /** The URL the client called, as API Gateway saw it (`htu`); query and fragment are ignored. */
  url: string;
  /** For requests carrying an access token: its hash must be the proof's `ath` (RFC 9449 §4.3 item 11). */
  accessToken?: string;
  /** The key thumbprint the token is bound to, when it is. */
  expectedJkt?: string;
}

/** `scheme://host[:port]/path`: RFC 9449 §4.3 compares `htu` without query and fragment, after normalisation. */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** `ath`: base64url(SHA-256(access token)). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Verifies RFC 9449 DPoP proofs: `typ: dpop+jwt`, an asymmetric algorithm,
 * a public `jwk` header that verifies the signature, `jti`, `htm`, `htu`,
 * `iat` within the window, `ath` when a token is presented, the bound key
 * when the token is bound, and `jti` single use (kept in the replay guard
 * until the window has passed). Returns the key's RFC 7638 thumbprint (`jkt`).
 */
export class DpopProofVerifier {
  constructor(
    private readonly replay: ReplayGuard,
    private readonly clock: Clock,
  ) {}

  async verify(check: DpopCheck): Promise<{ jkt: string }> {
    if (check.proof.length > MAX_PROOF_LENGTH) throw new DpopError('proof too long');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(check.proof);
    } catch {
      throw new DpopError('proof is not a JWS');
    }
    if (header.typ !== 'dpop+jwt') throw new DpopError('typ is not dpop+jwt');
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object') throw new DpopError('no jwk header');
    // RFC 9449 §4.3 item 7: the jwk header must not contain a private key.
    if ('d' in jwk || jwk.kty === 'oct') throw new DpopError('jwk header is not a public key');

    const now = this.clock.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(check.proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...DPOP_ALGORITHMS],
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
        currentDate: new Date(now),
        clockTolerance: DPOP_IAT_WINDOW_SECONDS,
      }));
    } catch (error) {
      throw new DpopError(error instanceof joseErrors.JOSEError ? error.code : 'verification failed');
    }

    const iat = payload.iat as number;
    if (Math.abs(iat - now / 1000) > DPOP_IAT_WINDOW_SECONDS) throw new DpopError('iat outside the window');
    if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256) throw new DpopError('bad jti');
    if (typeof payload.htm !== 'string' || payload.htm.toUpperCase() !== check.method.toUpperCase()) throw new DpopError('htm mismatch');
    const htu = typeof payload.htu === 'string' ? normalizeHtu(payload.htu) : undefined;
    if (!htu || htu !== normalizeHtu(check.url)) throw new DpopError('htu mismatch');
    if (check.accessToken !== undefined && payload.ath !== accessTokenHash(check.accessToken)) throw new DpopError('ath mismatch');

    const jkt = await calculateJwkThumbprint(jwk);
    if (check.expectedJkt !== undefined && jkt !== check.expectedJkt) throw new DpopError('proof key is not the bound key');

    // RFC 9449 §11.1: a proof is single-use within its acceptance window.
    const fresh = await this.replay.claim(`dpop#${jkt}#${payload.jti}`, Math.ceil(now / 1000) + 2 * DPOP_IAT_WINDOW_SECONDS);
    if (!fresh) throw new DpopError('proof replayed');
    return { jkt };
  }
}
