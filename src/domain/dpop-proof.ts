import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { classifyJoseError } from './jose-failure';
import { CodedError } from './errors';
import type { Clock } from './clock';

/*
 * Runtime-neutral on purpose (jose and WebCrypto only, no `node:` module):
 * the verifier library (`src/verifier/`) checks proofs with this same code in
 * Workers and browsers.
 */

/** RFC 9449 §5.1: the algorithms Tollgate accepts for DPoP proofs (asymmetric only), as metadata advertises them. */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;

/**
 * Records a proof's `jti` once: false when it was recorded before and has not
 * expired. The `claim` of the replay-guard port satisfies it; the domain names
 * only what it needs, so it imports no port.
 */
export interface ProofReplayCheck {
  claim(key: string, expiresAt: number): Promise<boolean>;
}

/** How far a proof's `iat` may be from now (RFC 9449 §11.1 leaves the window to the server). */
export const DPOP_IAT_WINDOW_SECONDS = 60;

/** Longest DPoP header accepted (an RSA-4096 `jwk` and a server nonce fit with room to spare). */
export const MAX_PROOF_LENGTH = 8_192;

/**
 * Why a proof was refused:
 * - `PROOF_INVALID`: malformed, bad signature, wrong `typ`/`alg`/`htm`/`htu`/`ath`, `iat` outside the window, replayed `jti`;
 * - `KEY_MISMATCH`: a valid proof by another key than the one the token or session is bound to;
 * - `NONCE_REQUIRED`: server nonces are on and the proof carries none, or a stale or foreign one (RFC 9449 §8, §9).
 */
export type DpopFailure = 'PROOF_INVALID' | 'KEY_MISMATCH' | 'NONCE_REQUIRED';

export class DpopError extends CodedError<DpopFailure> {
  constructor(code: DpopFailure, detail: string) {
    super('DpopError', code, detail);
  }
}

/** Decides whether a proof's `nonce` is one this server issued and still accepts (see `DpopNonces`). */
export interface DpopNonceCheck {
  accepts(nonce: unknown): Promise<boolean>;
}

export interface DpopCheck {
  /** The DPoP header value (the caller makes sure there was exactly one). */
  proof: string;
  /** The request method (`htm`), compared exactly: methods are case-sensitive (RFC 9110 §9.1). */
  method: string;
  /** The URL the client called, as API Gateway saw it (`htu`); query and fragment are ignored. */
  url: string;
  /** For requests carrying an access token: its hash must be the proof's `ath` (RFC 9449 §4.3 item 11). */
  accessToken?: string;
  /** The key thumbprint the token or session is bound to, when it is. */
  expectedJkt?: string;
}

/** `scheme://host[:port]/path`: RFC 9449 §4.3 compares `htu` without query and fragment, after normalisation. */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** `ath`: base64url(SHA-256(ASCII access token)), RFC 9449 §4.2. */
export async function accessTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Verifies RFC 9449 DPoP proofs (§4.3): `typ: dpop+jwt`, an asymmetric
 * algorithm from `DPOP_ALGORITHMS`, a public `jwk` header that verifies the
 * signature, `jti`, `htm`, `htu`, `iat` within ±60 s, `ath` when a token is
 * presented, the bound key when there is one, the server nonce when nonces
 * are on, and `jti` single use (kept in the replay guard until the proof
 * could no longer be accepted anyway). Returns the key's RFC 7638 thumbprint
 * (`jkt`).
 *
 * Every check that needs no write runs first: a refused proof leaves no
 * marker. Does not check that the key is fresh or unknown: any key may bind a
 * new session; what it is bound to is the caller's business.
 */
export class DpopProofVerifier {
  constructor(
    private readonly replay: ProofReplayCheck,
    private readonly clock: Clock,
    private readonly nonces?: DpopNonceCheck,
  ) {}

  /** Whether proofs must carry a server nonce. */
  get noncesRequired(): boolean {
    return this.nonces !== undefined;
  }

  async verify(check: DpopCheck): Promise<{ jkt: string }> {
    if (check.proof.length > MAX_PROOF_LENGTH) throw invalid('proof too long');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(check.proof);
    } catch {
      throw invalid('proof is not a JWS');
    }
    if (header.typ !== 'dpop+jwt') throw invalid('typ is not dpop+jwt');
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw invalid('no jwk header');
    // RFC 9449 §4.3 item 7: the jwk header must not contain a private key.
    if ('d' in jwk || jwk.kty === 'oct') throw invalid('jwk header is not a public key');

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
      throw invalid(classifyJoseError(error).code ?? 'verification failed');
    }

    const iat = payload.iat;
    if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(iat - now / 1000) > DPOP_IAT_WINDOW_SECONDS) {
      throw invalid('iat outside the window');
    }
    if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256) throw invalid('bad jti');
    if (payload.htm !== check.method) throw invalid('htm mismatch');
    const htu = typeof payload.htu === 'string' ? normalizeHtu(payload.htu) : undefined;
    const called = normalizeHtu(check.url);
    if (!called) throw invalid('the called URL is unknown');
    if (!htu || htu !== called) throw invalid('htu mismatch');
    if (check.accessToken !== undefined && payload.ath !== (await accessTokenHash(check.accessToken))) throw invalid('ath mismatch');

    const jkt = await calculateJwkThumbprint(jwk);
    if (check.expectedJkt !== undefined && jkt !== check.expectedJkt) throw new DpopError('KEY_MISMATCH', 'proof key is not the bound key');
    if (this.nonces && !(await this.nonces.accepts(payload.nonce))) {
      throw new DpopError('NONCE_REQUIRED', payload.nonce === undefined ? 'no nonce' : 'stale or foreign nonce');
    }

    // RFC 9449 §11.1: a proof is single-use within its acceptance window (it is dead after iat + window ≤ now + 2 × window).
    const fresh = await this.replay.claim(`dpop#${jkt}#${payload.jti}`, Math.ceil(now / 1000) + 2 * DPOP_IAT_WINDOW_SECONDS);
    if (!fresh) throw invalid('proof replayed');
    return { jkt };
  }
}

function invalid(detail: string): DpopError {
  return new DpopError('PROOF_INVALID', detail);
}
