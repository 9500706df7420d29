import { epochSeconds, type Clock } from '../domain/clock';
import { AccessTokenError } from '../domain/errors';
import { looksLikeRefreshToken, parseRefreshToken, sameHash } from '../domain/refresh-token';
import { formatScope } from '../domain/scope';
import { sessionState } from '../domain/session';
import type { SessionGate } from './session-gate';

/** RFC 7662 §2.2 response. Inactive tokens say nothing else. */
export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

/**
 * RFC 7662 token introspection for Tollgate's access and refresh tokens.
 * Anything invalid, expired, revoked, or whose session ended is simply
 * `{"active": false}`; the reason goes to the log only.
 */
export class IntrospectionService {
  constructor(
    private readonly gate: SessionGate,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly audience: string,
  ) {}

  async introspect(token: string, onInactive: (detail: string) => void = () => undefined): Promise<IntrospectionResponse> {
    if (looksLikeRefreshToken(token)) return this.introspectRefreshToken(token, onInactive);
    try {
      const { claims } = await this.gate.check(token);
      // RFC 9449 §6.2: a bound token's `cnf.jkt` (among its claims) and `token_type: "DPoP"`.
      return { active: true, ...claims, token_type: claims.cnf ? 'DPoP' : 'Bearer' };
    } catch (error) {
      if (error instanceof AccessTokenError) {
        onInactive(`${error.code}: ${error.detail}`);
        return INACTIVE;
      }
      throw error;
    }
  }

  private async introspectRefreshToken(token: string, onInactive: (detail: string) => void): Promise<IntrospectionResponse> {
    const parsed = parseRefreshToken(token);
    // Never from the cache: every refresh rotates the hash, and a cached copy would call the new token inactive.
    const session = parsed ? await this.gate.session(parsed.sid, { fresh: true }) : undefined;
    if (!parsed || !session || !sameHash(session.refreshHash, parsed.secretHash)) {
      onInactive('unknown or rotated refresh token');
      return INACTIVE;
    }
    const state = sessionState(session, epochSeconds(this.clock));
    if (!state.active) {
      onInactive(`session ${state.reason}`);
      return INACTIVE;
    }
    return {
      active: true,
      token_type: 'refresh_token',
      iss: this.issuer,
      aud: this.audience,
      sub: session.sub,
      sid: session.sid,
      scope: formatScope(session.scopes),
      kind: session.kind,
      client_id: session.clientId ?? session.trust,
      iat: session.rotatedAt ?? session.sidCreatedAt,
      exp: Math.min(session.idleExpiry, session.sidExpiry),
      ...session.context,
      // RFC 9449 §6.2: the key a bound session's refresh token is bound to.
      ...(session.jkt ? { cnf: { jkt: session.jkt } } : {}),
    };
  }
}
