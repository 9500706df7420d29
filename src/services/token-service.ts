import type { SessionKind, TollgateConfig, TrustConfig } from '../config/config';
import { epochSeconds, type Clock } from '../domain/clock';
import { OAuthError } from '../domain/errors';
import { formatScope, missingScopes } from '../domain/scope';
import {
  nextIdleExpiry,
  sessionState,
  SESSION_RETENTION_SECONDS,
  type Session,
} from '../domain/session';
import {
  newRefreshToken,
  newSessionId,
  newWriteId,
  openSuccessor,
  parseRefreshToken,
  sameHash,
  sealSuccessor,
  singleUseSessionId,
} from '../domain/refresh-token';
import { grantedScopes } from '../domain/trust';
import { deletedSubjectKey, endedUpstreamSessionKey } from '../domain/upstream-markers';
import { clerkWebhookTrustNames } from '../domain/webhook-trusts';
import type { ReplayGuard } from '../ports/replay-guard';
import type { KindPolicy, RefreshAttempt, SessionStore } from '../ports/session-store';
import type { Telemetry } from '../ports/telemetry';
import { DpopError, type DpopProofVerifier } from '../domain/dpop-proof';
import type { DpopNonces } from './dpop-nonces';
import type { AccessTokens } from './access-tokens';
import type { SubjectTokenVerifier } from './subject-token-verifier';
import { sessionContext } from './session-context';

/** RFC 8693 §3 token type identifiers. */
export const TokenTypes = {
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
} as const;

/** A request's DPoP header (RFC 9449 §4), with the URL the client called (the proof's `htu`; the method is always POST here). */
export interface DpopPresentation {
  proof: string;
  url: string;
}

export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  scope?: string[];
  audience?: string[];
  clientId?: string;
  dpop?: DpopPresentation;
}

export interface RefreshRequest {
  refreshToken: string;
  scope?: string[];
  clientId?: string;
  dpop?: DpopPresentation;
}

/** The RFC 6749 §5.1 / RFC 8693 §2.2.1 success body; `DPoP` for key-bound tokens (RFC 9449 §5). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  refresh_token: string;
  scope: string;
  issued_token_type?: typeof TokenTypes.accessToken;
}

export interface TokenServiceDeps {
  config: TollgateConfig;
  subjects: SubjectTokenVerifier;
  accessTokens: AccessTokens;
  sessions: SessionStore;
  replay: ReplayGuard;
  telemetry: Telemetry;
  clock: Clock;
  /** RFC 9449 proof checks (with server nonces when `dpop.nonce` is on). */
  dpop: DpopProofVerifier;
  /** Present when `dpop.nonce` is on: the nonce a `use_dpop_nonce` refusal carries. */
  dpopNonces?: DpopNonces;
}

/**
 * Token exchange (RFC 8693) and refresh (RFC 6749 §6) with rotating refresh
 * tokens (RFC 9700 §4.14). Sessions are the unit of revocation: every access
 * and refresh token names its `sid`.
 *
 * DPoP (RFC 9449 §5): an exchange with a valid proof binds the session to
 * the proof's key (`session.jkt`); its access tokens carry `cnf.jkt` and its
 * refresh tokens are refreshed only with a proof by that key. A session is
 * bound at exchange or never (docs/dpop.md).
 */
export class TokenService {
  /** Trust entries an identity provider's webhook governs: their exchanges and refreshes check its markers. */
  private readonly webhookTrusts: ReadonlySet<string>;
  /** Per kind, what the refresh's conditional write checks against the live config. */
  private readonly policies: Record<SessionKind, KindPolicy>;

  constructor(private readonly deps: TokenServiceDeps) {
    this.webhookTrusts = new Set(clerkWebhookTrustNames(deps.config));
    const policy = (kind: SessionKind): KindPolicy => {
      const entries = deps.config.trust.filter((entry) => entry.kind === kind);
      return {
        trusts: entries.map((entry) => entry.name),
        dpopRequired: entries.filter((entry) => entry.dpop?.required).map((entry) => entry.name),
        maxRefreshes: deps.config.sessions[kind].maxRefreshes,
      };
    };
    this.policies = { user: policy('user'), ci: policy('ci') };
  }

  async exchange(request: ExchangeRequest): Promise<TokenResponse> {
    const { config, telemetry } = this.deps;
    checkClientId(request.clientId);
    if (request.subjectTokenType !== TokenTypes.jwt && request.subjectTokenType !== TokenTypes.idToken) {
      throw new OAuthError('invalid_request', 'unsupported subject_token_type');
    }
    // RFC 8693 §2.2.2: an audience Tollgate does not issue for is `invalid_target`.
    if (request.audience?.some((audience) => audience !== config.audience)) {
      throw new OAuthError('invalid_target', 'the requested audience is not served by this token service');
    }

    const { trust, claims, singleUseId } = await this.deps.subjects.verify(request.subjectToken);
    const granted = grantedScopes(trust.rules, claims);
    if (!granted) {
      throw new OAuthError('invalid_grant', 'no trust rule grants a scope to this subject', {
        reason: 'no_matching_rule',
        detail: `trust ${trust.name}: no rule matched`,
      });
    }
    const scopes = this.narrow(request.scope, granted);
    const sub = `${trust.name}:${claims.sub}`;
    const upstreamSid = trust.kind === 'user' && typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined;
    if (await this.endedUpstream(trust.name, sub, upstreamSid)) {
      throw new OAuthError('invalid_grant', 'the session behind the subject token has ended', {
        reason: 'session_ended',
        detail: 'a webhook ended its upstream session or deleted its user',
      });
    }
    // Before the single-use marker: a refused proof must not spend the subject token.
    if (!request.dpop && trust.dpop?.required) throw dpopRequired(`trust ${trust.name} requires DPoP`);
    const jkt = request.dpop ? await this.proofKey(request.dpop) : undefined;

    const now = epochSeconds(this.deps.clock);
    const policy = config.sessions[trust.kind];
    // Single use (RFC 8693 leaves it to us; GitHub's OIDC tokens are bearer tokens): keyed on what was
    // signed, never on the token's bytes (SubjectTokenVerifier: `singleUseId`). The session's sid is
    // derived from that key, so the session item IS the single-use marker: one conditional put records
    // both, and a lost answer to it is recognised by its write id like any other write of ours.
    const singleUseKey = trust.singleUse ? `subject#${trust.name}#${singleUseId}` : undefined;
    const singleUseUntil = singleUseKey ? (claims.exp ?? now) + trust.clockToleranceSeconds : 0;
    const sid = singleUseKey ? singleUseSessionId(singleUseKey) : newSessionId();
    const refresh = newRefreshToken(sid);
    const sidExpiry = now + policy.maxLifetimeSeconds;
    const session: Session = {
      sid,
      sub,
      kind: trust.kind,
      trust: trust.name,
      // RFC 6749 §6: a refresh may ask for at most the scope granted at exchange, which is the narrowed one.
      scopes,
      clientId: request.clientId,
      sidCreatedAt: now,
      sidExpiry,
      idleExpiry: nextIdleExpiry(now, sidExpiry, policy),
      idleTimeoutSeconds: policy.idleTimeoutSeconds,
      refreshCount: 0,
      refreshHash: refresh.secretHash,
      usedHashes: [],
      status: 'active',
      context: sessionContext(trust.kind, claims),
      // An index key may not be an empty string in DynamoDB: an empty `sid` is no upstream session.
      upstreamSid,
      jkt,
      // The item outlives the subject token it records, so single use holds until the token expires.
      ttl: Math.max(sidExpiry + SESSION_RETENTION_SECONDS, singleUseUntil),
      writeId: newWriteId(),
    };
    // Sign before writing: a signing-key outage must leave no session behind and spend no single-use token.
    const access = await this.deps.accessTokens.issue({
      sub: session.sub,
      sid,
      scope: formatScope(scopes),
      kind: trust.kind,
      clientId: clientIdFor(session, trust),
      context: session.context,
      notAfter: sidExpiry,
      jkt,
    });
    let created: boolean;
    try {
      created = await this.deps.sessions.create(session);
    } catch (error) {
      // The answer to the client will be a 503: undo a write that may have landed unseen, so no orphan
      // session stays behind and the single-use token stays unspent (best effort: the store is failing).
      await this.deps.sessions.discard(session).catch(() => undefined);
      throw error;
    }
    if (!created) {
      throw new OAuthError('invalid_grant', 'subject token was already used', { reason: 'replayed', detail: `trust ${trust.name}` });
    }
    telemetry.emit({ type: 'TokenIssued', kind: trust.kind, trust: trust.name, sid, sub: session.sub });
    return {
      access_token: access.token,
      issued_token_type: TokenTypes.accessToken,
      token_type: jkt ? 'DPoP' : 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refresh.token,
      scope: access.claims.scope,
    };
  }

  /**
   * Refresh (RFC 6749 §6) with rotation (RFC 9700 §4.14.2) in ONE conditional
   * write: the store checks the presented token, the session's state and
   * limits, the client and the DPoP key, and rotates, all at once
   * (`SessionStore.rotate`). Only a refusal looks at the session it found, to
   * say why (and to end the session where the reason calls for it).
   *
   * Safe to repeat: the previous refresh token presented again within the
   * grace window gets THE SAME successor (opened from the sealed copy on the
   * session) and a fresh access token, so a lost answer, a retry or a second
   * tab never ends or forks the session. Later, reuse revokes the session.
   */
  async refresh(request: RefreshRequest): Promise<TokenResponse> {
    const { sessions, telemetry } = this.deps;
    checkClientId(request.clientId);
    const parsed = parseRefreshToken(request.refreshToken);
    if (!parsed) throw invalidRefresh('refresh_invalid', 'not a Tollgate refresh token');
    const jkt = await this.refreshProofKey(request, parsed.sid);
    // Nothing that can fail may come after the write that commits: the signing keys are loaded first
    // (a cold instance that cannot read them answers 503 before it rotates anything).
    await this.deps.accessTokens.ready();

    const now = epochSeconds(this.deps.clock);
    const next = newRefreshToken(parsed.sid);
    const attempt: RefreshAttempt = {
      sid: parsed.sid,
      presentedHash: parsed.secretHash,
      nextHash: next.secretHash,
      successorBox: sealSuccessor(request.refreshToken, next.token),
      now,
      clientId: request.clientId,
      jkt,
      scopes: request.scope,
      policies: this.policies,
    };
    let outcome = await sessions.rotate(attempt);
    // A session created before `idleTimeoutSeconds` was recorded on it: one more write, which records it.
    if (!outcome.rotated && outcome.session && outcome.session.idleTimeoutSeconds === undefined) {
      const verdict = await this.afterRefusedWrite(outcome.session, parsed.secretHash, request, jkt, now);
      if (verdict.retry) return this.answerRetry(outcome.session, verdict.retry, request.scope);
      outcome = await sessions.rotate({
        ...attempt,
        legacy: { kind: outcome.session.kind, idleTimeoutSeconds: this.deps.config.sessions[outcome.session.kind].idleTimeoutSeconds, refreshCount: outcome.session.refreshCount },
      });
    }
    if (!outcome.rotated) {
      if (!outcome.session) throw invalidRefresh('refresh_invalid', 'no such session');
      const verdict = await this.afterRefusedWrite(outcome.session, parsed.secretHash, request, jkt, now);
      if (verdict.retry) return this.answerRetry(outcome.session, verdict.retry, request.scope);
      // Every check passes on what the write found, yet its condition failed: a concurrent refresh won in between.
      throw invalidRefresh('refresh_invalid', 'lost a concurrent refresh', 'refresh token was already used');
    }

    const session = outcome.session;
    // The write moved the idle deadline by the session's recorded timeout; after an operator changed the
    // config, one more write applies the new one (once per session). Best effort: its failure does not fail
    // the answer, and the next refresh tries again.
    const idleTimeoutSeconds = this.deps.config.sessions[session.kind].idleTimeoutSeconds;
    if (session.idleTimeoutSeconds !== idleTimeoutSeconds) {
      const idleExpiry = Math.min(now + idleTimeoutSeconds, session.sidExpiry);
      await sessions.retime(session.sid, next.secretHash, idleTimeoutSeconds, idleExpiry).catch(() => undefined);
    }
    // Webhook markers name the session's subject, known only now: one read, for webhook-governed trusts only.
    if (await this.endedUpstream(session.trust, session.sub, session.upstreamSid)) {
      if (await sessions.end(session.sid, 'upstream_session_ended', now)) {
        telemetry.emit({ type: 'SessionRevoked', source: 'webhook', sid: session.sid });
      }
      throw invalidRefresh('session_ended', 'upstream session ended or user deleted', 'the session has ended');
    }
    telemetry.emit({ type: 'TokenRefreshed', kind: session.kind, sid: session.sid, refreshCount: session.refreshCount });
    return this.answer(session, next.token, request.scope);
  }

  /** The grace window's answer: the same successor, a fresh access token; counted as a refresh (no write: the count stays). */
  private answerRetry(session: Session, successor: string, requested: string[] | undefined): Promise<TokenResponse> {
    this.deps.telemetry.emit({ type: 'TokenRefreshed', kind: session.kind, sid: session.sid, refreshCount: session.refreshCount });
    return this.answer(session, successor, requested);
  }

  /** The refresh answer: a fresh access token for `session` and `refreshToken` (its current one). */
  private async answer(session: Session, refreshToken: string, requested: string[] | undefined): Promise<TokenResponse> {
    const trust = this.deps.config.trust.find((entry) => entry.name === session.trust && entry.kind === session.kind);
    const access = await this.deps.accessTokens.issue({
      sub: session.sub,
      sid: session.sid,
      scope: formatScope(this.narrow(requested, session.scopes)),
      kind: session.kind,
      clientId: clientIdFor(session, trust),
      context: session.context,
      notAfter: session.sidExpiry,
      jkt: session.jkt,
    });
    return {
      access_token: access.token,
      token_type: session.jkt ? 'DPoP' : 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      scope: access.claims.scope,
    };
  }

  /**
   * The request's DPoP key for a refresh (RFC 9449 §5). The write compares it
   * with the session's; here only the proof itself is checked. A proof that
   * fails is reported as the session decides: no such session, another
   * client, or an unbound session (which takes no proof at all) come first.
   */
  private async refreshProofKey(request: RefreshRequest, sid: string): Promise<string | undefined> {
    if (!request.dpop) return undefined;
    try {
      return await this.proofKey(request.dpop);
    } catch (error) {
      const session = await this.deps.sessions.get(sid, { consistent: true });
      if (!session) throw invalidRefresh('refresh_invalid', 'no such session');
      if (request.clientId && session.clientId && request.clientId !== session.clientId) {
        throw invalidRefresh('refresh_invalid', 'client_id differs from the session');
      }
      if (!session.jkt) throw notBound();
      throw error;
    }
  }

  /**
   * Why a refresh's write refused `session` (as the write found it), in the
   * order the checks have always run; ends the session where the reason calls
   * for it. Returns `retry` with the same successor when the presented token
   * is the one just rotated out, within the grace window; returns nothing when
   * no check fails (a session without `idleTimeoutSeconds`, or a race).
   */
  private async afterRefusedWrite(session: Session, presentedHash: string, request: RefreshRequest, jkt: string | undefined, now: number): Promise<{ retry?: string }> {
    const { config, sessions, telemetry } = this.deps;
    const policy = config.sessions[session.kind];
    // RFC 6749 §6: a refresh token is bound to the client it was issued to.
    if (request.clientId && session.clientId && request.clientId !== session.clientId) {
      throw invalidRefresh('refresh_invalid', 'client_id differs from the session');
    }
    // RFC 9449 §5: a bound session is refreshed only with a proof by its key. Checked before the
    // token itself, so a stolen (even already rotated) refresh token without the key changes nothing.
    if (session.jkt) {
      if (!jkt) throw dpopRequired('bound session refreshed without a proof');
      if (jkt !== session.jkt) {
        throw new OAuthError('invalid_dpop_proof', 'the DPoP proof is not signed by the key the session is bound to', { reason: 'dpop', detail: 'proof key differs from the session' });
      }
    } else if (jkt) {
      // A session is bound at exchange or never: a key that appears later proves nothing about who holds the refresh token.
      throw notBound();
    }

    let retry: string | undefined;
    if (!sameHash(session.refreshHash, presentedHash)) {
      retry = await this.staleToken(session, presentedHash, request.refreshToken, now, policy.refreshReuseGraceSeconds);
      if (!retry) throw invalidRefresh('refresh_invalid', 'unknown refresh token');
    }

    const state = sessionState(session, now);
    if (!state.active) {
      if (state.timedOutNow && (await sessions.end(session.sid, state.reason, now))) {
        telemetry.emit({ type: 'SessionTimedOut', reason: state.reason as 'absolute' | 'idle', sid: session.sid });
      }
      throw invalidRefresh('session_ended', `session ${state.reason}`, 'the session has ended');
    }
    // The grace retry hands out the successor the count already includes.
    if (!retry && session.refreshCount >= policy.maxRefreshes) {
      if (await sessions.end(session.sid, 'max_refreshes', now)) {
        telemetry.emit({ type: 'SessionTimedOut', reason: 'max_refreshes', sid: session.sid });
      }
      throw invalidRefresh('session_ended', 'session max_refreshes', 'the session has ended');
    }
    // An operator who removes a trust entry (a compromised issuer) cuts its sessions at their next refresh.
    const trust = config.trust.find((entry) => entry.name === session.trust && entry.kind === session.kind);
    if (!trust) {
      if (await sessions.end(session.sid, 'trust_removed', now)) {
        telemetry.emit({ type: 'SessionRevoked', source: 'config', sid: session.sid });
      }
      throw invalidRefresh('session_ended', `trust ${session.trust} no longer configured`, 'the session has ended');
    }
    // `dpop.required` turned on later: the unbound sessions of before get no further tokens (they cannot become bound).
    if (trust.dpop?.required && !session.jkt) {
      throw invalidRefresh('session_ended', `trust ${trust.name} requires DPoP; session unbound`, 'the session has ended');
    }
    this.narrow(request.scope, session.scopes);
    if (retry && (await this.endedUpstream(session.trust, session.sub, session.upstreamSid))) {
      throw invalidRefresh('session_ended', 'upstream session ended or user deleted', 'the session has ended');
    }
    return { retry };
  }

  /**
   * RFC 9700 §4.14.2: a rotated refresh token presented again means it leaked,
   * or the client lost an answer. The one just rotated out, within the grace
   * window after its rotation, gets the same successor back (returned here,
   * opened from the session's sealed copy), unless that successor has been
   * rotated in turn. Anything else rotated out revokes the whole session.
   * Returns undefined for a token this session never had.
   */
  private async staleToken(session: Session, hash: string, presented: string, now: number, graceSeconds: number): Promise<string | undefined> {
    const isPrevious = sameHash(session.prevRefreshHash, hash);
    const isOlder = !isPrevious && session.usedHashes.some((used) => sameHash(used, hash));
    if (!isPrevious && !isOlder) return undefined;
    if (isPrevious && session.rotatedAt !== undefined && now - session.rotatedAt <= graceSeconds) {
      const successor = openSuccessor(presented, session.successorBox);
      const successorHash = successor ? parseRefreshToken(successor)?.secretHash : undefined;
      if (successor && successorHash && sameHash(session.refreshHash, successorHash)) return successor;
      // A session rotated before successors were sealed: the retry only fails, as it always did.
      throw invalidRefresh('refresh_invalid', 'rotated token reused within the grace window', 'refresh token was already used');
    }
    this.deps.telemetry.emit({ type: 'RefreshReuseDetected', sid: session.sid });
    if (await this.deps.sessions.end(session.sid, 'refresh_reuse', now)) {
      this.deps.telemetry.emit({ type: 'SessionRevoked', source: 'reuse', sid: session.sid });
    }
    throw invalidRefresh('refresh_reused', 'rotated refresh token reused; session revoked', 'refresh token was already used');
  }

  /**
   * Checks a `/token` proof (RFC 9449 §4.3, `htm` POST) and returns its key's
   * thumbprint; `expectedJkt` is the key a refreshed session is bound to.
   * Refusals are `invalid_dpop_proof`, or `use_dpop_nonce` with a fresh
   * `DPoP-Nonce` (RFC 9449 §8).
   */
  private async proofKey(dpop: DpopPresentation, expectedJkt?: string): Promise<string> {
    try {
      return (await this.deps.dpop.verify({ proof: dpop.proof, method: 'POST', url: dpop.url, expectedJkt })).jkt;
    } catch (error) {
      if (!(error instanceof DpopError)) throw error;
      if (error.code === 'NONCE_REQUIRED' && this.deps.dpopNonces) {
        throw new OAuthError('use_dpop_nonce', 'the DPoP proof must carry the nonce of the DPoP-Nonce header', {
          reason: 'dpop',
          detail: error.detail,
          headers: { 'DPoP-Nonce': await this.deps.dpopNonces.current() },
        });
      }
      if (error.code === 'KEY_MISMATCH') {
        throw new OAuthError('invalid_dpop_proof', 'the DPoP proof is not signed by the key the session is bound to', { reason: 'dpop', detail: error.detail });
      }
      throw new OAuthError('invalid_dpop_proof', 'the DPoP proof is not valid', { reason: 'dpop', detail: error.detail });
    }
  }

  /** Whether a webhook marked this subject deleted or its upstream session ended (one batched read; none without webhooks). */
  private async endedUpstream(trustName: string, sub: string, upstreamSid: string | undefined): Promise<boolean> {
    if (!this.webhookTrusts.has(trustName)) return false;
    const keys = [deletedSubjectKey(sub), ...(upstreamSid ? [endedUpstreamSessionKey(upstreamSid)] : [])];
    return this.deps.replay.hasAny(keys);
  }

  /** RFC 6749 §3.3/§6: the requested scope must be within what was granted; omitted means all of it. */
  private narrow(requested: string[] | undefined, granted: readonly string[]): string[] {
    if (!requested || requested.length === 0) return [...granted];
    const missing = missingScopes(requested, granted);
    if (missing.length > 0) {
      throw new OAuthError('invalid_scope', 'the requested scope exceeds what was granted', {
        reason: 'scope',
        detail: `not granted: ${missing.slice(0, 10).join(' ')}`,
      });
    }
    return requested;
  }
}

/** RFC 6749 Appendix A.1: client-id = *VSCHAR. Bounded too: it is stored and copied into every access token. */
const CLIENT_ID = /^[\x20-\x7E]{1,255}$/;

function checkClientId(clientId: string | undefined): void {
  if (clientId !== undefined && !CLIENT_ID.test(clientId)) {
    throw new OAuthError('invalid_request', 'client_id is malformed', { reason: 'malformed', detail: `client_id of ${clientId.length} characters` });
  }
}

/** A session is bound at exchange or never: a proof on the refresh of an unbound session proves nothing. */
function notBound(): OAuthError {
  return new OAuthError('invalid_grant', 'the session is not bound to a DPoP key', { reason: 'dpop', detail: 'proof on an unbound session' });
}

/** RFC 9449 §5: a proof was needed (a bound session, or a trust entry with `dpop.required`) and none came. */
function dpopRequired(detail: string): OAuthError {
  return new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { reason: 'dpop', detail });
}

function invalidRefresh(reason: 'refresh_invalid' | 'refresh_reused' | 'session_ended', detail: string, description = 'refresh token is invalid'): OAuthError {
  return new OAuthError('invalid_grant', description, { reason, detail });
}

/** RFC 9068 §2.2 requires `client_id`; public clients may not send one, so the trust name stands in. */
function clientIdFor(session: Session, trust: TrustConfig | undefined): string {
  return session.clientId ?? trust?.name ?? session.trust;
}

