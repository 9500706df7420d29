import { GITHUB_CONTEXT_CLAIMS, type SessionKind } from '../domain/session';

/**
 * The context claims every access token of a session carries, so upstreams
 * can attribute actions: `gh` for ci sessions; for user sessions `user` (the
 * identity provider's session id and organisation) and `act` when the subject
 * token records impersonation (RFC 8693 §4.1).
 */
export function sessionContext(kind: SessionKind, claims: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'ci') {
    const gh: Record<string, string> = {};
    for (const name of GITHUB_CONTEXT_CLAIMS) {
      const value = claims[name];
      if (typeof value === 'string' && value !== '') gh[name] = value;
      else if (typeof value === 'number') gh[name] = String(value);
    }
    return { gh };
  }
  const user: Record<string, unknown> = {};
  if (typeof claims.sid === 'string') user.sid = claims.sid;
  const org = claims.o;
  if (org && typeof org === 'object' && !Array.isArray(org)) {
    const { id, rol, slg } = org as Record<string, unknown>;
    const summary: Record<string, string> = {};
    if (typeof id === 'string') summary.id = id;
    if (typeof rol === 'string') summary.role = rol;
    if (typeof slg === 'string') summary.slug = slg;
    if (Object.keys(summary).length > 0) user.org = summary;
  } else if (typeof claims.org_id === 'string') {
    // Clerk session token v1 shape.
    user.org = { id: claims.org_id, ...(typeof claims.org_role === 'string' ? { role: claims.org_role } : {}) };
  }
  const context: Record<string, unknown> = {};
  if (Object.keys(user).length > 0) context.user = user;
  const act = claims.act;
  if (act && typeof act === 'object' && !Array.isArray(act)) {
    const { sub, iss } = act as Record<string, unknown>;
    if (typeof sub === 'string') context.act = { sub, ...(typeof iss === 'string' ? { iss } : {}) };
  }
  return context;
}
