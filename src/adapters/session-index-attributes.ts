import type { Session } from '../domain/session';

/**
 * Top-level copies of nested session facts that a GSI keys on (DynamoDB index
 * keys must be top-level attributes): `repository`, the GitHub repository of a
 * ci session (`context.gh.repository`), for the `byRepository` index that
 * `tollgate sessions list --repository` queries. Written once, at create;
 * nothing reads them back into a `Session`. An index key may not be an empty
 * string, so a missing or empty value is left out (the session is then simply
 * not in that index).
 */
export function sessionIndexAttributes(session: Pick<Session, 'context'>): { repository?: string } {
  const gh = session.context?.gh;
  const repository = gh && typeof gh === 'object' ? (gh as Record<string, unknown>).repository : undefined;
  return typeof repository === 'string' && repository !== '' ? { repository } : {};
}
