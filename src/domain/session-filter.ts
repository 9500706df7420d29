import { matchesClaimPattern } from './glob';
import { GITHUB_CONTEXT_CLAIMS, sessionState, type Session, type SessionKind } from './session';

/** The GitHub context fields (`context.gh`) a filter may name: the ones every ci session records. */
export const GH_FILTER_FIELDS = GITHUB_CONTEXT_CLAIMS;
export type GhFilterField = (typeof GH_FILTER_FIELDS)[number];

/**
 * Which sessions an operator means (`tollgate sessions list|revoke`). Every
 * given field must hold. Text values with `*` are claim-style globs (`*`: any
 * run without `/`, `**`: anything, as in trust rules); others match exactly.
 */
export interface SessionFilter {
  /** `<trust>:<subject sub>`, as access tokens carry it. */
  sub?: string;
  trust?: string;
  kind?: SessionKind;
  clientId?: string;
  /** The identity provider's session id (Clerk `sid`). */
  upstreamSid?: string;
  gh: Partial<Record<GhFilterField, string>>;
  /** Epoch seconds, inclusive. */
  createdAfter?: number;
  /** Epoch seconds, exclusive. */
  createdBefore?: number;
  /** `active`: usable now; `ended`: revoked, ended, or past a limit not yet recorded. */
  state?: 'active' | 'ended';
}

/** Admin facts recorded on a session next to the model's own (`tollgate sessions revoke`). */
export interface AdminRevocation {
  /** Who: the caller's AWS identity (STS `GetCallerIdentity` ARN), or `local`. */
  by: string;
  /** Why: the operator's `--reason`. */
  reason: string;
  /** Epoch seconds. */
  at: number;
}

/** A session as the admin commands read it: the model plus what they record. */
export type AdminSession = Session & { adminRevocation?: AdminRevocation };

export function isGlob(value: string): boolean {
  return value.includes('*');
}

function textMatches(pattern: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  return isGlob(pattern) ? matchesClaimPattern(pattern, value) : pattern === value;
}

/** Whether `session` is one of the filter's, at `now` (epoch seconds). */
export function sessionMatches(session: Session, filter: SessionFilter, now: number): boolean {
  if (filter.sub !== undefined && !textMatches(filter.sub, session.sub)) return false;
  if (filter.trust !== undefined && session.trust !== filter.trust) return false;
  if (filter.kind !== undefined && session.kind !== filter.kind) return false;
  if (filter.clientId !== undefined && !textMatches(filter.clientId, session.clientId)) return false;
  if (filter.upstreamSid !== undefined && session.upstreamSid !== filter.upstreamSid) return false;
  if (filter.createdAfter !== undefined && session.sidCreatedAt < filter.createdAfter) return false;
  if (filter.createdBefore !== undefined && session.sidCreatedAt >= filter.createdBefore) return false;
  const gh = (session.context?.gh ?? {}) as Record<string, unknown>;
  for (const [field, pattern] of Object.entries(filter.gh)) {
    if (pattern !== undefined && !textMatches(pattern, gh[field])) return false;
  }
  if (filter.state !== undefined && sessionState(session, now).active !== (filter.state === 'active')) return false;
  return true;
}

/** True when the filter names no condition at all (every session). */
export function isEmptyFilter(filter: SessionFilter): boolean {
  const { gh, ...rest } = filter;
  return Object.values(rest).every((value) => value === undefined) && Object.values(gh).every((value) => value === undefined);
}

/** How the store is read for a filter. Only `scan` reads the whole table. */
export type SessionQueryPlan =
  | { kind: 'index'; index: 'bySubject' | 'byUpstreamSid'; value: string }
  | { kind: 'index'; index: 'byTrust' | 'byRepository'; value: string; createdAfter?: number; createdBefore?: number }
  | { kind: 'scan'; why: string };

/**
 * The cheapest way to find a filter's sessions: an exact subject
 * (`bySubject`), upstream session (`byUpstreamSid`), repository
 * (`byRepository`) or trust entry (`byTrust`, also when a subject glob starts
 * with a literal `<trust>:`); the two last take the created range as a key
 * condition. Anything else is a scan, and the plan says why. The plan only
 * narrows: `sessionMatches` still checks every condition.
 */
export function planSessionQuery(filter: SessionFilter): SessionQueryPlan {
  const range = { createdAfter: filter.createdAfter, createdBefore: filter.createdBefore };
  if (filter.sub !== undefined && !isGlob(filter.sub)) return { kind: 'index', index: 'bySubject', value: filter.sub };
  if (filter.upstreamSid !== undefined) return { kind: 'index', index: 'byUpstreamSid', value: filter.upstreamSid };
  const repository = filter.gh.repository;
  if (repository !== undefined && !isGlob(repository)) return { kind: 'index', index: 'byRepository', value: repository, ...range };
  if (filter.trust !== undefined) return { kind: 'index', index: 'byTrust', value: filter.trust, ...range };
  const trustPrefix = filter.sub?.split(':')[0];
  if (filter.sub !== undefined && filter.sub.includes(':') && trustPrefix && !isGlob(trustPrefix)) {
    return { kind: 'index', index: 'byTrust', value: trustPrefix, ...range };
  }
  return { kind: 'scan', why: scanReason(filter) };
}

function scanReason(filter: SessionFilter): string {
  // The state (active or ended) is known only from the item itself, so it narrows nothing.
  if (isEmptyFilter({ ...filter, state: undefined })) return 'no filter';
  if (filter.sub !== undefined) return 'a subject glob without a literal "<trust>:" prefix';
  if (filter.gh.repository !== undefined) return 'a repository glob (give --trust too, or the exact repository)';
  return 'no filter on an indexed field (exact --sub, --repository, --trust or --upstream-sid)';
}

/** A plan named an index the sessions table does not have (a store created before it, or a stack upgraded half-way). */
export class MissingIndexError extends Error {
  constructor(readonly index: string) {
    super(`the sessions table has no index ${index}`);
    this.name = 'MissingIndexError';
  }
}
