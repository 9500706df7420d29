/**
 * Markers an identity provider's webhook leaves in the guards table, so that
 * work racing the webhook cannot outlive what it ended: an exchange of a Clerk
 * token minted just before its Clerk session ended (Clerk tokens stay valid up
 * to 60 s), or a refresh of a session the webhook's index query missed (GSIs
 * are eventually consistent).
 */

/** How long a marker is kept: far beyond a Clerk token's lifetime and any index lag. */
export const UPSTREAM_MARKER_SECONDS = 3_600;

/** The marker of an ended upstream (Clerk) session. */
export function endedUpstreamSessionKey(upstreamSid: string): string {
  return `upstream-ended#${upstreamSid}`;
}

/** The marker of a deleted user, by Tollgate subject (`<trust name>:<user id>`). */
export function deletedSubjectKey(sub: string): string {
  return `subject-deleted#${sub}`;
}
