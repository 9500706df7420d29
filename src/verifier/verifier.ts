import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { classifyJoseError } from '../domain/jose-failure';
import { DPOP_ALGORITHMS, DpopError, DpopProofVerifier } from '../domain/dpop-proof';
import { ACCESS_TOKEN_TYP, type TollgateClaims } from '../domain/access-token-claims';

export type { TollgateClaims };

/**
 * Verification of Tollgate access tokens for resource servers that do not sit
 * behind the Tollgate proxy: Node, Workers, Durable Objects, browsers. Uses
 * only `fetch` and WebCrypto (through jose); no Node built-ins.
 */

/** Why a token was refused: the vocabulary of the proxy (RFC 6750 `invalid_token` family, RFC 9449 `invalid_dpop_proof`). */
export type VerifyErrorCode = 'AUTH_REQUIRED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'SESSION_ENDED' | 'DPOP_PROOF_INVALID';

/** RFC 9449 §7.1: the proof algorithms accepted, for a `DPoP … algs="…"` challenge. */
export const DPOP_SIGNING_ALGORITHMS: readonly string[] = DPOP_ALGORITHMS;

export class TollgateVerifyError extends Error {
  readonly code: VerifyErrorCode;
  constructor(code: VerifyErrorCode, message: string) {
    super(message);
    this.name = 'TollgateVerifyError';
    this.code = code;
  }
}

/** Tollgate could not be asked (metadata, JWKS or `/verify` unreachable): not the token's fault; retry later. */
export class TollgateUnavailableError extends Error {
  readonly code = 'VERIFIER_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TollgateUnavailableError';
  }
}

export interface VerifierOptions {
  /** Tollgate's issuer URL (exactly the `iss` of its tokens). */
  issuer: string;
  /** The `aud` Tollgate issues for (its config's `audience`, default `tollgate`). */
  audience: string;
  /** Skip metadata discovery and fetch keys here. @default the `jwks_uri` of `{issuer}/.well-known/oauth-authorization-server` */
  jwksUri?: string;
  /** A fetch implementation (tests, proxies, Workers' bindings). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Leeway for `exp`/`iat` against the local clock. @default 5 */
  clockToleranceSeconds?: number;
  /** Accepted signature algorithms (pinned). @default ['RS256', 'ES256', 'EdDSA'] */
  algorithms?: string[];
  /** Minimum time between JWKS refetches caused by an unknown `kid`. @default 30 */
  jwksCooldownSeconds?: number;
  /** Timeout of each metadata, JWKS or introspection request. @default 3000 */
  timeoutMs?: number;
  /**
   * Also ask Tollgate's `/verify` (RFC 7662) whether the session is still
   * active, so a revocation bites within `cacheSeconds` instead of at `exp`.
   * Answers are cached per token for `cacheSeconds`, at most `maxEntries` tokens.
   */
  introspect?: { cacheSeconds: number; maxEntries?: number };
  /** The clock, in milliseconds. @default Date.now */
  now?: () => number;
  /**
   * DPoP proofs (`verifyRequest`): where proof ids (`jti`) are remembered for
   * the 2 minutes a proof could be replayed. The default is this verifier's
   * memory (at most `maxEntries`, 100 000 by default, oldest dropped first),
   * which sees replays to this instance only; pass a shared `replay` store to
   * see them across instances.
   */
  dpop?: { replay?: DpopReplayStore; maxEntries?: number };
}

/** Remembers DPoP proof ids: `claim` records `key` until `expiresAt` (epoch seconds) and is false when it was already there. */
export interface DpopReplayStore {
  claim(key: string, expiresAt: number): Promise<boolean>;
}

/** A request's credentials, for `verifyRequest`. */
export interface RequestCredentials {
  /** The `Authorization` header value. */
  authorization: string | null | undefined;
  /** The `DPoP` header value(s); several are refused (RFC 9449 §4.3). */
  dpop?: string | readonly string[] | null;
  /** The request method (the proof's `htm`). */
  method: string;
  /** The URL the client called, as the client saw it (the proof's `htu`; query and fragment are ignored). */
  url: string;
}

export interface Verifier {
  /**
   * Verifies a bearer token (a raw JWT, not the `Authorization` header).
   * Refuses DPoP-bound tokens (RFC 9449 §7.2): use `verifyRequest` for them.
   * Throws `TollgateVerifyError` or `TollgateUnavailableError`.
   */
  verify(token: string | null | undefined): Promise<TollgateClaims>;
  /**
   * Verifies a request's credentials: `Authorization: Bearer <token>` as
   * `verify` does, or `Authorization: DPoP <token>` with its DPoP proof
   * (RFC 9449 §7.1: `htm`, `htu`, `iat` within 60 s, `ath`, signed by the
   * token's `cnf.jkt` key, `jti` not seen before). A bound token as Bearer
   * and an unbound one as DPoP are `TOKEN_INVALID`; a bad proof is
   * `DPOP_PROOF_INVALID`. Server nonces are Tollgate's own: not asked for here.
   */
  verifyRequest(request: RequestCredentials): Promise<TollgateClaims>;
}


/** True when the claims hold every given scope. */
export function hasScope(claims: Pick<TollgateClaims, 'scope'>, ...scopes: string[]): boolean {
  const held = new Set(claims.scope.split(' ').filter(Boolean));
  return scopes.every((scope) => held.has(scope));
}

/** The token of an `Authorization: Bearer <token>` header value (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = authorization?.match(/^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i);
  return match?.[1];
}

/** The scheme and token of an `Authorization: Bearer|DPoP <token>` header value (RFC 6750 §2.1, RFC 9449 §7.1), or undefined. */
function presentedToken(authorization: string | null | undefined): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = authorization?.trim().match(/^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i);
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/** The verifier's own replay memory: per instance, bounded, entries expire with the proofs they guard. */
function memoryReplayStore(maxEntries: number, nowSeconds: () => number): DpopReplayStore {
  const seen = new Map<string, number>();
  return {
    async claim(key, expiresAt) {
      const now = nowSeconds();
      const until = seen.get(key);
      if (until !== undefined && until > now) return false;
      seen.delete(key);
      seen.set(key, expiresAt);
      // Entries are added in expiry order (now + the same window), so the first ones go first.
      for (const [oldest, expiry] of seen) {
        if (seen.size <= maxEntries && expiry > now) break;
        seen.delete(oldest);
      }
      return true;
    },
  };
}

/**
 * Creates a verifier for one Tollgate deployment. Offline by default: keys
 * come from Tollgate's JWKS (discovered from its RFC 8414 metadata, cached,
 * refetched on an unknown `kid` at most once per cooldown). Checks the
 * signature with a pinned algorithm, `typ: at+jwt` (RFC 9068 §4), `iss`,
 * `aud`, and requires `exp`, `iat`, `sub`, `sid`.
 *
 * Does **not** check, offline: that the session is still active (a revoked
 * session's tokens stay valid until `exp`, at most 15 minutes by default) —
 * turn on `introspect` where revocation must bite sooner. Does not check
 * scopes: call `hasScope` for the route. DPoP-bound tokens (`cnf.jkt`) pass
 * `verifyRequest` only, with their proof (RFC 9449 §7).
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  const issuer = options.issuer.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? Date.now;
  const algorithms = options.algorithms ?? ['RS256', 'ES256', 'EdDSA'];
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const introspectionCache = new Map<string, { active: boolean; at: number }>();
  const nowSeconds = () => Math.floor(now() / 1000);
  const proofs = new DpopProofVerifier(options.dpop?.replay ?? memoryReplayStore(options.dpop?.maxEntries ?? 100_000, nowSeconds), { now });

  async function discoverKeySet(): Promise<JWTVerifyGetKey> {
    let jwksUri = options.jwksUri;
    if (!jwksUri) {
      let metadata: { issuer?: unknown; jwks_uri?: unknown };
      try {
        const response = await fetchImpl(`${issuer}/.well-known/oauth-authorization-server`, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        metadata = (await response.json()) as typeof metadata;
      } catch (error) {
        throw new TollgateUnavailableError('Tollgate metadata could not be fetched', { cause: error });
      }
      // RFC 8414 §3.3: the metadata's issuer must be the one we asked for.
      if (metadata.issuer !== issuer || typeof metadata.jwks_uri !== 'string') {
        throw new TollgateUnavailableError('Tollgate metadata names another issuer or no jwks_uri');
      }
      jwksUri = metadata.jwks_uri;
    }
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
      [customFetch]: fetchImpl,
    });
  }

  function keys(): Promise<JWTVerifyGetKey> {
    if (!keySet) {
      keySet = discoverKeySet();
      // A failed discovery is not kept: the next call tries again.
      keySet.catch(() => {
        keySet = undefined;
      });
    }
    return keySet;
  }

  async function sessionActive(token: string, claims: TollgateClaims): Promise<boolean> {
    const { cacheSeconds, maxEntries = 10_000 } = options.introspect!;
    const key = `${claims.sid}:${claims.jti}`;
    const hit = introspectionCache.get(key);
    if (hit && now() - hit.at < cacheSeconds * 1000) return hit.active;
    let active: boolean;
    try {
      const response = await fetchImpl(`${issuer}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      active = ((await response.json()) as { active?: unknown }).active === true;
    } catch (error) {
      throw new TollgateUnavailableError('Tollgate introspection failed', { cause: error });
    }
    if (cacheSeconds > 0) {
      introspectionCache.delete(key);
      introspectionCache.set(key, { active, at: now() });
      if (introspectionCache.size > maxEntries) introspectionCache.delete(introspectionCache.keys().next().value!);
    }
    return active;
  }

  async function verifyToken(token: string | null | undefined, presentedAs: 'Bearer' | 'DPoP'): Promise<TollgateClaims> {
    if (!token) throw new TollgateVerifyError('AUTH_REQUIRED', 'no access token');
    const getKey = await keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer,
        audience: options.audience,
        algorithms,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        currentDate: new Date(now()),
      }));
    } catch (error) {
      const failure = classifyJoseError(error);
      if (failure.reason === 'expired') throw new TollgateVerifyError('TOKEN_EXPIRED', 'the access token has expired');
      if (failure.reason === 'keys_unavailable' || failure.reason === 'other') {
        throw new TollgateUnavailableError('Tollgate JWKS could not be fetched', { cause: error });
      }
      throw new TollgateVerifyError('TOKEN_INVALID', `the access token is not valid (${failure.code})`);
    }
    const claims = payload as TollgateClaims;
    if (typeof claims.scope !== 'string' || (claims.kind !== 'user' && claims.kind !== 'ci')) {
      throw new TollgateVerifyError('TOKEN_INVALID', 'the access token lacks Tollgate claims');
    }
    if (claims.iat > now() / 1000 + (options.clockToleranceSeconds ?? 5)) {
      throw new TollgateVerifyError('TOKEN_INVALID', 'the access token was issued in the future');
    }
    // RFC 9449 §7.2: a bound token is only good with a proof; an unbound one is not a DPoP token.
    if (presentedAs === 'Bearer' && claims.cnf) throw new TollgateVerifyError('TOKEN_INVALID', 'the access token is DPoP-bound: present it with the DPoP scheme and a proof');
    if (presentedAs === 'DPoP' && typeof claims.cnf?.jkt !== 'string') throw new TollgateVerifyError('TOKEN_INVALID', 'the access token is not DPoP-bound');
    if (options.introspect && !(await sessionActive(token, claims))) {
      throw new TollgateVerifyError('SESSION_ENDED', 'the session behind the access token has ended');
    }
    return claims;
  }

  return {
    verify: (token) => verifyToken(token, 'Bearer'),

    async verifyRequest(request) {
      if (!request.authorization) throw new TollgateVerifyError('AUTH_REQUIRED', 'no access token');
      const presented = presentedToken(request.authorization);
      if (!presented) throw new TollgateVerifyError('TOKEN_INVALID', 'the Authorization header is neither Bearer nor DPoP with one token');
      const claims = await verifyToken(presented.token, presented.scheme);
      if (presented.scheme === 'Bearer') return claims;
      const values = request.dpop === undefined || request.dpop === null ? [] : typeof request.dpop === 'string' ? [request.dpop] : [...request.dpop];
      if (values.length !== 1) throw new TollgateVerifyError('DPOP_PROOF_INVALID', values.length === 0 ? 'no DPoP proof' : 'several DPoP proofs');
      try {
        await proofs.verify({ proof: values[0]!.trim(), method: request.method, url: request.url, accessToken: presented.token, expectedJkt: claims.cnf!.jkt });
      } catch (error) {
        if (!(error instanceof DpopError)) throw error;
        if (error.code === 'KEY_MISMATCH') throw new TollgateVerifyError('TOKEN_INVALID', 'the DPoP proof is not signed by the key the token is bound to');
        throw new TollgateVerifyError('DPOP_PROOF_INVALID', `the DPoP proof is not valid (${error.detail})`);
      }
      return claims;
    },
  };
}
