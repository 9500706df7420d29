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
 * effect at `/verify` and the proxy (0 disables the cache).
 *
 * Read-only by design (the verify and proxy functions may not write
 * sessions): a session found past its limits is refused here, and recorded as
 * ended (with `SessionTimedOut`) by the next refresh attempt.
 */
export class SessionGate {
  private readonly cache = new Map<string, { session: Session | undefined; fetchedAt: number }>();

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
    const claims = await this.accessTokens.verify(token);
    const session = await this.session(claims.sid);
    if (!session || session.sub !== claims.sub) throw new AccessTokenError('SESSION_ENDED', 'no such session');
    const state = sessionState(session, epochSeconds(this.clock));
    if (!state.active) throw new AccessTokenError('SESSION_ENDED', `session ${state.reason}`);
    // Removing a (compromised) issuer from trust cuts its sessions here at once, not only at their next refresh.
    if (!this.trustNames.has(session.trust)) throw new AccessTokenError('SESSION_ENDED', `trust ${session.trust} no longer configured`);
    return { claims, session };
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
