import { epochSeconds, type Clock } from '../domain/clock';
import {
  MissingIndexError,
  planSessionQuery,
  sessionMatches,
  type AdminSession,
  type SessionFilter,
  type SessionQueryPlan,
} from '../domain/session-filter';
import type { SessionDirectory } from '../ports/session-directory';
import type { SessionStore } from '../ports/session-store';
import type { Telemetry } from '../ports/telemetry';

/** How a search is going: pages read, index entries or items read, matches so far. */
export interface SearchProgress {
  plan: SessionQueryPlan;
  pages: number;
  read: number;
  found: number;
}

export interface SearchListener {
  /** Called once before the first read with the plan (and, after a missing index, again with the scan that replaces it). */
  onPlan?(plan: SessionQueryPlan): void;
  /** Called after every page. */
  onPage?(progress: SearchProgress): void;
}

/** What happened to one session an operator asked to end. */
export type RevocationResult =
  | { sid: string; outcome: 'revoked'; recorded: boolean }
  | { sid: string; outcome: 'already_ended' };

export interface AdminRevocationRequest {
  /** The operator's reason, recorded on each session. */
  reason: string;
  /** Who: the caller's AWS identity ARN, or `local`. */
  actor: string;
}

/**
 * The operator's view of sessions (`tollgate sessions`): find them by filter
 * through the cheapest index (or a scan, said so), read one, and end them.
 *
 * Ending goes through `SessionStore.end(sid, 'revoked', now)`, the very call
 * `RevocationService` makes for `POST /revoke`, and emits the same
 * `SessionRevoked` event with the source `admin`; then who and why are
 * recorded on the session. Access tokens of an ended session stop working at
 * the proxy and `/verify` within `proxy.sessionCacheSeconds` (docs/security.md,
 * "Revocation latency"); refresh fails at once.
 */
export class SessionAdminService {
  constructor(
    private readonly deps: { sessions: SessionStore; directory: SessionDirectory; telemetry: Telemetry; clock: Clock },
  ) {}

  /** The sessions matching `filter`, page by page; an index the table lacks falls back to a scan. */
  async *search(filter: SessionFilter, listener: SearchListener = {}): AsyncGenerator<AdminSession> {
    let plan = planSessionQuery(filter);
    listener.onPlan?.(plan);
    const progress = { pages: 0, read: 0, found: 0 };
    try {
      yield* this.read(plan, filter, progress, listener);
    } catch (error) {
      if (!(error instanceof MissingIndexError) || progress.pages > 0) throw error;
      plan = { kind: 'scan', why: `the table has no ${error.index} index yet` };
      listener.onPlan?.(plan);
      yield* this.read(plan, filter, progress, listener);
    }
  }

  /** Every match, collected. */
  async find(filter: SessionFilter, listener?: SearchListener): Promise<AdminSession[]> {
    const found: AdminSession[] = [];
    for await (const session of this.search(filter, listener)) found.push(session);
    return found;
  }

  show(sid: string): Promise<AdminSession | undefined> {
    return this.deps.directory.get(sid);
  }

  /** Ends one session as `/revoke` does and records the operator's who and why on it. */
  async revoke(sid: string, request: AdminRevocationRequest): Promise<RevocationResult> {
    const now = epochSeconds(this.deps.clock);
    if (!(await this.deps.sessions.end(sid, 'revoked', now))) return { sid, outcome: 'already_ended' };
    this.deps.telemetry.emit({ type: 'SessionRevoked', source: 'admin', sid });
    const recorded = await this.deps.directory.recordAdminRevocation(sid, { by: request.actor, reason: request.reason, at: now });
    return { sid, outcome: 'revoked', recorded };
  }

  private async *read(
    plan: SessionQueryPlan,
    filter: SessionFilter,
    progress: { pages: number; read: number; found: number },
    listener: SearchListener,
  ): AsyncGenerator<AdminSession> {
    for await (const page of this.deps.directory.pages(plan)) {
      const now = epochSeconds(this.deps.clock);
      progress.pages += 1;
      progress.read += page.read;
      const matches = page.sessions.filter((session) => sessionMatches(session, filter, now));
      progress.found += matches.length;
      listener.onPage?.({ plan, ...progress });
      yield* matches;
    }
  }
}
