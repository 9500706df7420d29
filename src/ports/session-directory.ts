import type { AdminRevocation, AdminSession, SessionQueryPlan } from '../domain/session-filter';

/** One page of a query or scan: the sessions read (expired items left out) and how many index entries or items it read. */
export interface SessionPage {
  sessions: AdminSession[];
  read: number;
}

/**
 * The operator's view of the sessions table (`tollgate sessions`): paged
 * reads by plan, a strongly consistent read of one session, and the record of
 * who ended a session and why. Ending itself goes through `SessionStore.end`,
 * as `/revoke` does. Throws `UnavailableError('store')` when the store cannot
 * answer, and `MissingIndexError` for a plan naming an index the table lacks.
 */
export interface SessionDirectory {
  pages(plan: SessionQueryPlan): AsyncIterable<SessionPage>;
  get(sid: string): Promise<AdminSession | undefined>;
  /** Records an admin revocation on a session just ended by it; false when the session is not the one it ended. */
  recordAdminRevocation(sid: string, record: AdminRevocation): Promise<boolean>;
}
