import { WebhookError } from './webhook-error';

/** Clerk events that end Clerk sessions; `data.id` is the Clerk session id (`sid` in its session tokens). */
export const SESSION_END_EVENTS = ['session.ended', 'session.removed', 'session.revoked'] as const;
export type SessionEndEvent = (typeof SESSION_END_EVENTS)[number];

/** What a verified Clerk delivery asks Tollgate to do. */
export type ClerkEvent =
  | { action: 'end-upstream-session'; type: SessionEndEvent; sessionId: string }
  | { action: 'end-user-sessions'; type: 'user.deleted'; userId: string }
  | { action: 'ignore'; type: string };

/** Largest body read: Clerk's user payloads are a few KB. */
export const MAX_CLERK_EVENT_BYTES = 256 * 1024;

/** Clerk ids (`sess_…`, `user_…`): printable, no spaces, bounded. */
const CLERK_ID = /^[A-Za-z0-9_-]{1,128}$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a Clerk webhook body (`{"type": …, "object": "event", "data": {…}}`)
 * after its signature was verified. Session end events need `data.id`;
 * `user.deleted` needs `data.id` (Clerk sends `{"id", "object": "user",
 * "deleted": true}`). Unknown types are returned as `ignore` without looking
 * at their data; malformed bodies throw `WebhookError('malformed_body')`.
 */
export function parseClerkEvent(body: Uint8Array): ClerkEvent {
  const malformed = (detail: string) => new WebhookError('malformed_body', detail);
  if (body.length > MAX_CLERK_EVENT_BYTES) throw malformed('body is too large');
  let document: unknown;
  try {
    document = JSON.parse(utf8.decode(body));
  } catch {
    throw malformed('body is not UTF-8 JSON');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw malformed('body is not a JSON object');
  const { type, data } = document as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || !/^[a-z0-9_.-]{1,100}$/i.test(type)) throw malformed('type is missing or malformed');

  const isSessionEnd = (SESSION_END_EVENTS as readonly string[]).includes(type);
  if (!isSessionEnd && type !== 'user.deleted') return { action: 'ignore', type };
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw malformed(`${type}: data is not an object`);
  const id = (data as { id?: unknown }).id;
  if (typeof id !== 'string' || !CLERK_ID.test(id)) throw malformed(`${type}: data.id is missing or malformed`);
  return isSessionEnd
    ? { action: 'end-upstream-session', type: type as SessionEndEvent, sessionId: id }
    : { action: 'end-user-sessions', type: 'user.deleted', userId: id };
}
