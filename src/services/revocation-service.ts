import { epochSeconds, type Clock } from '../domain/clock';
import { AccessTokenError } from '../domain/errors';
import { looksLikeRefreshToken, parseRefreshToken } from '../domain/refresh-token';
import type { EndCondition, SessionStore } from '../ports/session-store';
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

  /**
   * Returns the revoked `sid`, or undefined when the token named no live session of ours. One
   * conditional write, no read: the store ends the session only if it knows the refresh token's hash,
   * or, for an access token, belongs to the token's subject (as `SessionGate` checks).
   */
  async revoke(token: string): Promise<string | undefined> {
    const target = looksLikeRefreshToken(token) ? refreshTokenTarget(token) : await this.accessTokenTarget(token);
    if (!target) return undefined;
    if (await this.sessions.end(target.sid, 'revoked', epochSeconds(this.clock), target.only)) {
      this.telemetry.emit({ type: 'SessionRevoked', source: 'revoke', sid: target.sid });
      return target.sid;
    }
    return undefined;
  }

  private async accessTokenTarget(token: string): Promise<RevocationTarget | undefined> {
    let claims: { sid: string; sub: string };
    try {
      claims = await this.accessTokens.verify(token, { allowExpired: true });
    } catch (error) {
      if (error instanceof AccessTokenError) return undefined;
      throw error;
    }
    return { sid: claims.sid, only: { sub: claims.sub } };
  }
}

interface RevocationTarget {
  sid: string;
  only: EndCondition;
}

/** A refresh token names its session only if the session knows it (current, previous or remembered). */
function refreshTokenTarget(token: string): RevocationTarget | undefined {
  const parsed = parseRefreshToken(token);
  return parsed ? { sid: parsed.sid, only: { knownHash: parsed.secretHash } } : undefined;
}
