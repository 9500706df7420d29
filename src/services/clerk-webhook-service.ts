import { epochSeconds, type Clock } from '../domain/clock';
import { deletedSubjectKey, endedUpstreamSessionKey, UPSTREAM_MARKER_SECONDS } from '../domain/upstream-markers';
import type { ReplayGuard } from '../ports/replay-guard';
import type { SecretResolver } from '../ports/secret-resolver';
import type { SessionStore } from '../ports/session-store';
import type { Telemetry } from '../ports/telemetry';
import { parseClerkEvent, type ClerkEvent } from '../domain/clerk-event';
import { parseSigningSecrets, verifySvixDelivery, type SvixDelivery } from '../domain/svix-signature';

/**
 * How long a processed `svix-id` is remembered: longer than Svix's whole
 * retry schedule (about 28 hours), so no retry or replay of a delivery that
 * was handled acts twice.
 */
export const DELIVERY_MEMORY_SECONDS = 48 * 3600;

/** Sessions ended at once for one event (a user with many sessions). */
const END_CONCURRENCY = 8;

export interface ClerkWebhookDeps {
  sessions: Pick<Required<SessionStore>, 'get' | 'end' | 'findByUpstreamSid' | 'findBySubject'>;
  replay: ReplayGuard;
  secrets: SecretResolver;
  /** `webhooks.clerk.signingSecret`: a secret ref to the `whsec_…` value. */
  signingSecretRef: string;
  /** Names of the trust entries whose sessions this Clerk instance's events govern (`sub` is `<name>:<user id>`). */
  trustNames: readonly string[];
  telemetry: Telemetry;
  clock: Clock;
  /** Called for each session ended here (the local server drops it from its session cache). */
  onSessionEnded?: (sid: string) => void;
}

export type WebhookOutcome =
  | { outcome: 'ended'; type: string; svixId: string; sessions: number }
  | { outcome: 'ignored'; type: string; svixId: string }
  | { outcome: 'duplicate'; svixId: string };

/**
 * Ends Tollgate sessions when Clerk says their user's Clerk session or the
 * user is gone. Order: verify the Svix signature (nothing is read or written
 * for a bad delivery), parse, remember the `svix-id` (a replay is
 * acknowledged and ignored), then end the sessions. If ending fails, the
 * `svix-id` is forgotten again so Svix's retry does the work.
 *
 * A webhook acts within its scope: it ends only sessions of the trust
 * entries it governs (`trustNames`, from `webhooks.clerk.trust`). A Clerk
 * session id is Clerk's, so a session of another identity provider whose
 * upstream session id happens to be the same is left alone.
 *
 * Webhooks are an early end, not the only one: Clerk may deliver late or
 * never, so sessions stay bounded by their own limits; and an event reaching
 * Tollgate before the session index (a GSI, eventually consistent) has the
 * session misses that session.
 */
export class ClerkWebhookService {
  constructor(private readonly deps: ClerkWebhookDeps) {}

  async receive(delivery: SvixDelivery): Promise<WebhookOutcome> {
    const secrets = parseSigningSecrets(await this.deps.secrets.resolve(this.deps.signingSecretRef));
    const now = epochSeconds(this.deps.clock);
    const { id: svixId } = verifySvixDelivery(delivery, secrets, now);
    const event = parseClerkEvent(delivery.body);
    if (event.action === 'ignore') return { outcome: 'ignored', type: event.type, svixId };

    const replayKey = `webhook#clerk#${svixId}`;
    if (!(await this.deps.replay.claim(replayKey, now + DELIVERY_MEMORY_SECONDS))) return { outcome: 'duplicate', svixId };
    try {
      await this.leaveMarkers(event, now);
      const ended = await this.endSessions(await this.sessionsOf(event), now);
      return { outcome: 'ended', type: event.type, svixId, sessions: ended };
    } catch (error) {
      await this.deps.replay.release(replayKey).catch(() => undefined);
      throw error;
    }
  }

  /** Markers first, so an exchange or refresh racing this delivery is refused too (src/domain/upstream-markers.ts). */
  private async leaveMarkers(event: Exclude<ClerkEvent, { action: 'ignore' }>, now: number): Promise<void> {
    const keys =
      event.action === 'end-upstream-session'
        ? [endedUpstreamSessionKey(event.sessionId)]
        : this.deps.trustNames.map((name) => deletedSubjectKey(`${name}:${event.userId}`));
    // `false` only means the marker is already there.
    await Promise.all(keys.map((key) => this.deps.replay.claim(key, now + UPSTREAM_MARKER_SECONDS)));
  }

  private async sessionsOf(event: Exclude<ClerkEvent, { action: 'ignore' }>): Promise<string[]> {
    const { sessions, trustNames } = this.deps;
    if (event.action === 'end-upstream-session') return this.governed(await sessions.findByUpstreamSid(event.sessionId));
    // One Clerk user can hold sessions under every trust entry that trusts this Clerk instance.
    const found = await Promise.all(trustNames.map((name) => sessions.findBySubject(`${name}:${event.userId}`)));
    return [...new Set(found.flat())];
  }

  /**
   * The sessions among `sids` whose trust entry this webhook governs. The
   * upstream-session index keeps keys only, so each candidate is read (by
   * key, strongly consistent: the index found it, the table has it).
   */
  private async governed(sids: readonly string[]): Promise<string[]> {
    const trusts = new Set(this.deps.trustNames);
    const kept: string[] = [];
    for (let start = 0; start < sids.length; start += END_CONCURRENCY) {
      const batch = await Promise.all(sids.slice(start, start + END_CONCURRENCY).map((sid) => this.deps.sessions.get(sid, { consistent: true })));
      for (const session of batch) if (session && trusts.has(session.trust)) kept.push(session.sid);
    }
    return kept;
  }

  /** Ends each session still active; returns how many this call ended. */
  private async endSessions(sids: readonly string[], now: number): Promise<number> {
    let ended = 0;
    for (let start = 0; start < sids.length; start += END_CONCURRENCY) {
      const batch = sids.slice(start, start + END_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((sid) => this.deps.sessions.end(sid, 'upstream_session_ended', now)));
      let failure: PromiseRejectedResult | undefined;
      results.forEach((result, index) => {
        if (result.status === 'rejected') failure ??= result;
        else if (result.value) {
          // Counted even when a sibling failed: the retry finds this one already ended.
          ended++;
          const sid = batch[index]!;
          this.deps.telemetry.emit({ type: 'SessionRevoked', source: 'webhook', sid });
          this.deps.onSessionEnded?.(sid);
        }
      });
      if (failure) throw failure.reason;
    }
    return ended;
  }
}
