import { epochSeconds, type Clock } from '../domain/clock';
import { AccessTokenError } from '../domain/errors';
import { sessionState, type Session } from '../domain/session';
import type { SessionStore } from '../ports/session-store';
import type { AccessTokenClaims, AccessTokens } from './access-tokens';

/** Most sessions remembered per process; the oldest entry is dropped first. */
const CACHE_ENTRIES = 10_000;

/**
 * Checks that an access token is valid *and* its session is still active,
 * inside `sidExpiry` and its idle window. A session's state is cached in
 * memory for at most `cacheSeconds`, which bounds how late a revocation takes
 * effect at `/verify` and the proxy (0 disables the cache). For as long, a
 * token it verified is not verified again, only its `exp` is checked
 * (`verifiedClaims`).
 *
 * Read-only by design (the verify and proxy functions may not write
 * sessions): a session found past its limits is refused here, and recorded as
 * ended (with `SessionTimedOut`) by the next refresh attempt.
 */
export class SessionGate {
  private readonly cache = new Map<string, { session: Session | undefined; fetchedAt: number }>();
  /** Tokens this process verified in the last `cacheSeconds`, by their exact text (see `verifiedClaims`). */
  private readonly verified = new Map<string, { claims: AccessTokenClaims; verifiedAt: number }>();

  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    private readonly cacheSeconds: number,
    /** Names of the configured trust entries: a session whose entry was removed is over. */
    private readonly trustNames: ReadonlySet<string>,
  ) {}

  /** Verifies the token and its session; throws `AccessTokenError` with the proxy's vocabulary. */
  async check(token: string): Promise<{ claims: AccessTokenClaims; session: Session }> {
    const claims = await this.verifiedClaims(token);
    const session = await this.session(claims.sid);
    if (!session || session.sub !== claims.sub) throw new AccessTokenError('SESSION_ENDED', 'no such session');
    const state = sessionState(session, epochSeconds(this.clock));
    if (!state.active) throw new AccessTokenError('SESSION_ENDED', `session ${state.reason}`);
    // Removing a (compromised) issuer from trust cuts its sessions here at once, not only at their next refresh.
    if (!this.trustNames.has(session.trust)) throw new AccessTokenError('SESSION_ENDED', `trust ${session.trust} no longer configured`);
    return { claims, session };
  }

  /**
   * The token's claims, verified (`AccessTokens.verify`) at most `cacheSeconds`
   * ago. A signature check is a pure function of the token's bytes and the
   * key: the same text verified under the same keys verifies again, so within
   * the window only what time changes is checked again, `exp` (RFC 7519
   * §4.1.4, no leeway, as `verify`); `nbf` and `iat` only get further behind.
   * A signing key removed from the key set (itself reloaded every few
   * minutes, `CachedSigningKeySource`) stops accepting its tokens here at
   * most `cacheSeconds` later, the bound a revocation already has. The
   * session is still read (through its cache) on every call. Keyed by the
   * whole token, so a changed byte is a miss; with `cacheSeconds` 0 every
   * call verifies.
   */
  private async verifiedClaims(token: string): Promise<AccessTokenClaims> {
    if (this.cacheSeconds <= 0) return this.accessTokens.verify(token);
    const now = this.clock.now();
    const hit = this.verified.get(token);
    if (hit && now - hit.verifiedAt < this.cacheSeconds * 1000) {
      if (hit.claims.exp > Math.floor(now / 1000)) return hit.claims;
      this.verified.delete(token);
      throw new AccessTokenError('TOKEN_EXPIRED', 'exp passed');
    }
    const claims = await this.accessTokens.verify(token);
    this.verified.delete(token);
    this.verified.set(token, { claims, verifiedAt: now });
    if (this.verified.size > CACHE_ENTRIES) this.verified.delete(this.verified.keys().next().value!);
    return claims;
  }

  /**
   * Reads a session through the cache; `fresh` skips the cached copy (and
   * refreshes it) with a strongly consistent read, for callers that compare
   * the current refresh-token hash.
   */
  async session(sid: string, options: { fresh?: boolean } = {}): Promise<Session | undefined> {
    const now = this.clock.now();
    const hit = options.fresh ? undefined : this.cache.get(sid);
    if (hit && now - hit.fetchedAt < this.cacheSeconds * 1000) return hit.session;
    const session = await this.sessions.get(sid, { consistent: options.fresh });
    if (this.cacheSeconds > 0) {
      this.cache.delete(sid);
      this.cache.set(sid, { session, fetchedAt: now });
      if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    }
    return session;
  }

  /** Forgets a session (after this process revoked it), so the revocation bites here at once. */
  forget(sid: string): void {
    this.cache.delete(sid);
  }
}
