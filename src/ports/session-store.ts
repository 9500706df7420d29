import type { SessionKind } from '../domain/session';
import type { Session, SessionEndReason } from '../domain/session';

/** What the live config allows sessions of one kind: checked inside the refresh's conditional write. */
export interface KindPolicy {
  /** Trust entries of this kind that still exist; a session of any other is refused (and ended by the caller). */
  trusts: readonly string[];
  /** Of those, the entries with `dpop.required`: their unbound sessions get no further tokens. */
  dpopRequired: readonly string[];
  maxRefreshes: number;
}

/**
 * One refresh, checked and applied by ONE conditional write: the presented
 * token is the current one, the session is active and within its limits, the
 * client and DPoP key match. When anything fails, nothing changes and the
 * session as it was is returned for the caller to say why.
 */
export interface RefreshAttempt {
  sid: string;
  /** SHA-256 of the presented refresh token's secret: it must be the current one. */
  presentedHash: string;
  /** The successor's hash and its sealed copy (`sealSuccessor`). */
  nextHash: string;
  successorBox: string;
  now: number;
  /** The client the request names; the session's, if it has one, must be the same. */
  clientId?: string;
  /** The request's DPoP key thumbprint: a bound session needs exactly it; without one the session must be unbound. */
  jkt?: string;
  /** Scopes the request narrows the access token to: each must be one the session holds. */
  scopes?: readonly string[];
  policies: Record<SessionKind, KindPolicy>;
  /**
   * Only for a session that predates `idleTimeoutSeconds` on the item (it has none):
   * its kind and the idle timeout to record. Without it such a session is refused (unchanged).
   */
  legacy?: { kind: SessionKind; idleTimeoutSeconds: number; refreshCount: number };
}

/** What a revocation asks of the session it ends (RFC 7009: a token names its session only if the session knows it). */
export interface EndCondition {
  knownHash?: string;
  sub?: string;
}

export type RefreshOutcome =
  /** Rotated: the session as the write left it. */
  | { rotated: true; session: Session }
  /** Not rotated: the session as the write found it (absent or expired: undefined). */
  | { rotated: false; session: Session | undefined };

/**
 * Where sessions live. Implementations treat items past their `ttl` as absent
 * and throw `UnavailableError('store')` when the store cannot answer.
 *
 * Every write is conditional and carries a write id of its own: a write whose
 * answer was lost (every attempt timed out or was reset after the store
 * applied it) is looked up and recognised as this call's, so the result is
 * what the store holds, never a guess.
 */
export interface SessionStore {
  /**
   * Creates a session; false when an item with its `sid` exists (for a single-use
   * subject token's derived sid: the token was used). True also when the only
   * obstacle was this very write, applied by an attempt whose answer was lost.
   */
  create(session: Session): Promise<boolean>;
  /**
   * Undoes `create` of a request that is about to fail (its answer never reaches
   * the client): deletes the item only while it is exactly as that create left it.
   */
  discard(session: Session): Promise<void>;
  /** Reads a session. `consistent` asks for a strongly consistent read (refresh needs it). */
  get(sid: string, options?: { consistent?: boolean }): Promise<Session | undefined>;
  /** A refresh in one conditional write (see `RefreshAttempt`). */
  rotate(attempt: RefreshAttempt): Promise<RefreshOutcome>;
  /**
   * After a rotation that applied the session's recorded idle timeout, while the config now says
   * another: records the config's and moves the idle deadline, if the session still holds the
   * rotation's hash (`refreshHash`). A session then follows an operator's change at its next refresh.
   */
  retime(sid: string, refreshHash: string, idleTimeoutSeconds: number, idleExpiry: number): Promise<void>;
  /**
   * Ends an active session; returns false when it was not active (already ended, or absent), or
   * when `only` does not hold: the session must know `knownHash` (its current, previous or a
   * remembered refresh-token hash) or belong to `sub`. `only` makes a revocation one write, without
   * reading the session first.
   */
  end(sid: string, reason: SessionEndReason, now: number, only?: EndCondition): Promise<boolean>;
  /** Sessions created from an upstream identity provider's session id (Clerk `sid`). */
  findByUpstreamSid?(upstreamSid: string): Promise<string[]>;
  /** Sessions of one subject (`<trust>:<sub>`). */
  findBySubject?(sub: string): Promise<string[]>;
}
