/** Who a session is for: a user (Clerk) or a CI job (GitHub Actions OIDC). */
export const SESSION_KINDS = ['user', 'ci'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** A kind's session limits (`sessions.user` / `sessions.ci` in the config). All in seconds except `maxRefreshes`. */
export interface SessionPolicy {
  readonly maxLifetimeSeconds: number;
  readonly idleTimeoutSeconds: number;
  readonly maxRefreshes: number;
  /** Within this long of a rotation, presenting the previous refresh token only fails instead of revoking (RFC 9700 §4.14.2). */
  readonly refreshReuseGraceSeconds: number;
}

/** The GitHub Actions claims a ci session records in its context (`gh`), all strings in GitHub's tokens. */
export const GITHUB_CONTEXT_CLAIMS = [
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'workflow',
  'job_workflow_ref',
  'run_id',
  'run_attempt',
  'environment',
  'actor',
  'event_name',
  'sha',
] as const;

export type SessionStatus = 'active' | 'revoked' | 'ended';

/** Why a session stopped being usable. `absolute`, `idle`, `max_refreshes` are the `SessionTimedOut` metric's reasons. */
export type SessionEndReason = 'absolute' | 'idle' | 'max_refreshes' | 'revoked' | 'refresh_reuse' | 'upstream_session_ended' | 'trust_removed';

export type TimeoutReason = Extract<SessionEndReason, 'absolute' | 'idle' | 'max_refreshes'>;

/**
 * A Tollgate session as stored. All times are epoch seconds. The refresh token
 * itself is never stored: only SHA-256 hashes of its secret part.
 */
export interface Session {
  sid: string;
  /** `<trust name>:<subject sub>` */
  sub: string;
  kind: SessionKind;
  trust: string;
  /** Scopes granted at exchange (the requested subset when the client narrowed); refresh can narrow an access token, never widen the session. */
  scopes: string[];
  clientId?: string;
  sidCreatedAt: number;
  /** Absolute end; refresh never extends it. */
  sidExpiry: number;
  /** End of the idle window; each refresh moves it to `now + idleTimeoutSeconds` (the absolute end `sidExpiry` still comes first). */
  idleExpiry: number;
  /**
   * The idle timeout this session got at exchange (its kind's `idleTimeoutSeconds`), so a
   * refresh moves `idleExpiry` in its one conditional write without reading the session first.
   * Absent on sessions created before it was recorded (their first refresh records it).
   */
  idleTimeoutSeconds?: number;
  refreshCount: number;
  /** Hash of the current refresh token's secret. */
  refreshHash: string;
  /** Hash of the refresh token the current one replaced, and when, for the client-retry grace window. */
  prevRefreshHash?: string;
  rotatedAt?: number;
  /**
   * The current refresh token, sealed under a key only the previous token yields
   * (`sealSuccessor`): a retry with the previous token within the grace window gets the
   * same successor back. Never a usable token by itself.
   */
  successorBox?: string;
  /** Hashes of older rotated refresh tokens (bounded), so their reuse is detected too. */
  usedHashes: string[];
  status: SessionStatus;
  endReason?: SessionEndReason;
  endedAt?: number;
  /** Context claims copied into every access token of this session (`gh` for ci; `user`, `act` for user). */
  context: Record<string, unknown>;
  /** The upstream identity provider's own session id (Clerk `sid`), for webhook revocation. */
  upstreamSid?: string;
  /** RFC 9449 key thumbprint the session's tokens are bound to. */
  jkt?: string;
  /** DynamoDB TTL attribute: when the item may be deleted (after `sidExpiry`, and never before a single-use subject token it records expires). */
  ttl: number;
  /** The id of the request whose conditional write last changed the item: a write whose answer was lost is recognised by it. */
  writeId?: string;
}

/** How many older refresh-token hashes a session remembers for reuse detection. */
export const USED_HASHES_KEPT = 16;

/** Items stay this long after they end, so reuse and revocation stay visible to `/verify` and audits. */
export const SESSION_RETENTION_SECONDS = 86_400;

export type SessionState =
  | { active: true }
  | { active: false; reason: SessionEndReason; timedOutNow: boolean };

/**
 * Whether a session can be used at `now`. Expired items count as absent
 * whatever DynamoDB's TTL deletion lag. `timedOutNow` is true when the session
 * is still marked active but a limit has passed (the caller records the end).
 */
export function sessionState(session: Session, now: number): SessionState {
  if (session.status !== 'active') {
    return { active: false, reason: session.endReason ?? 'revoked', timedOutNow: false };
  }
  if (now >= session.sidExpiry) return { active: false, reason: 'absolute', timedOutNow: true };
  if (now >= session.idleExpiry) return { active: false, reason: 'idle', timedOutNow: true };
  return { active: true };
}

/** The idle deadline after activity at `now`: never beyond the absolute end. */
export function nextIdleExpiry(now: number, sidExpiry: number, policy: SessionPolicy): number {
  return Math.min(now + policy.idleTimeoutSeconds, sidExpiry);
}
