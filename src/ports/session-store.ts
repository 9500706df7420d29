import type { Session, SessionEndReason } from '../domain/session';

/** What a refresh changes on the session, applied only if the session is still as read. */
export interface RefreshRotation {
  sid: string;
  expectedRefreshHash: string;
  expectedRefreshCount: number;
  refreshHash: string;
  prevRefreshHash: string;
  usedHashes: string[];
  rotatedAt: number;
  idleExpiry: number;
}

/**
 * Where sessions live. Implementations treat items past their `ttl` as absent
 * and throw `UnavailableError('store')` when the store cannot answer.
 */
export interface SessionStore {
  /** Creates a session; fails if the `sid` exists. */
  create(session: Session): Promise<void>;
  /** Reads a session. `consistent` asks for a strongly consistent read (refresh needs it). */
  get(sid: string, options?: { consistent?: boolean }): Promise<Session | undefined>;
  /** Conditional rotation: returns false (and changes nothing) when another refresh won. */
  rotate(rotation: RefreshRotation): Promise<boolean>;
  /** Ends an active session; returns false when it was not active (already ended, or absent). */
  end(sid: string, reason: SessionEndReason, now: number): Promise<boolean>;
  /** Sessions created from an upstream identity provider's session id (Clerk `sid`). */
  findByUpstreamSid?(upstreamSid: string): Promise<string[]>;
  /** Sessions of one subject (`<trust>:<sub>`). */
  findBySubject?(sub: string): Promise<string[]>;
}
