import { epochSeconds, type Clock } from '../domain/clock';
import { AccessTokenError } from '../domain/errors';
import { looksLikeRefreshToken, parseRefreshToken, sameHash } from '../domain/refresh-token';
import type { SessionStore } from '../ports/session-store';
import type { Telemetry } from '../ports/telemetry';
import type { AccessTokens } from './access-tokens';

/**
 * RFC 7009 revocation. Revoking any token of a session (its access token, even
 * expired, or any of its refresh tokens) ends the whole session (§2.1: "SHOULD
 * also invalidate all tokens based on the same authorization grant").
 * Unknown or foreign tokens change nothing, and the caller still answers 200.
 */
export class RevocationService {
  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly sessions: SessionStore,
    private readonly telemetry: Telemetry,
    private readonly clock: Clock,
  ) {}

  /** Returns the revoked `sid`, or undefined when the token named no live session of ours. */
  async revoke(token: string): Promise<string | undefined> {
    const sid = looksLikeRefreshToken(token) ? await this.refreshTokenSession(token) : await this.accessTokenSession(token);
    if (!sid) return undefined;
    if (await this.sessions.end(sid, 'revoked', epochSeconds(this.clock))) {
      this.telemetry.emit({ type: 'SessionRevoked', source: 'revoke', sid });
      return sid;
    }
    return undefined;
  }

  private async refreshTokenSession(token: string): Promise<string | undefined> {
    const parsed = parseRefreshToken(token);
    if (!parsed) return undefined;
    const session = await this.sessions.get(parsed.sid, { consistent: true });
    if (!session) return undefined;
    const known = [session.refreshHash, session.prevRefreshHash, ...session.usedHashes].some((hash) => sameHash(hash, parsed.secretHash));
    return known ? session.sid : undefined;
  }

  private async accessTokenSession(token: string): Promise<string | undefined> {
    let claims: { sid: string; sub: string };
    try {
      claims = await this.accessTokens.verify(token, { allowExpired: true });
    } catch (error) {
      if (error instanceof AccessTokenError) return undefined;
      throw error;
    }
    // As SessionGate does: a token names its session only if the subjects agree.
    const session = await this.sessions.get(claims.sid, { consistent: true });
    return session && session.sub === claims.sub ? session.sid : undefined;
  }
}
