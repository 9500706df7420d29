import { isTollgateError } from './tollgate-error';
import { exchangeToken, isUncertain, refreshTokens, revokeToken, type EndpointContext, type TokenSet } from './token-endpoint';
import type { StoredTokens, TokenStorage } from './token-storage';

/** Keep using a still-valid token when a proactive refresh fails for a passing reason, if it has this much life left. */
const FALLBACK_MIN_REMAINING_MS = 5_000;

/**
 * Waits before sending an uncertain refresh again with the same refresh
 * token: at once, then twice more, all well inside Tollgate's default 10 s
 * grace window, in which the same refresh is answered with the same
 * successor (docs/security.md, "Rotation that is safe to repeat").
 */
export const UNCERTAIN_REFRESH_DELAYS_MS = [0, 500, 2_000] as const;

export interface TokenSessionOptions {
  context: EndpointContext;
  storage: TokenStorage;
  /** Refresh this long before expiry (at most half the token's lifetime). */
  marginMs: number;
  /** A fresh subject token, or a `SUBJECT_TOKEN_UNAVAILABLE` error. */
  subjectToken: () => Promise<string>;
  subjectTokenType?: string;
  scope?: string;
  clientId?: string;
}

export type RenewMode = 'refresh' | 'start-over';

/** Where a client gets its tokens: a `TokenSession` in the page, or one in a SharedWorker (`WorkerSession`). */
export interface SessionBackend {
  tokens(): Promise<StoredTokens>;
  renew(mode: RenewMode, rejected?: string): Promise<StoredTokens>;
  revoke(): Promise<void>;
}

/**
 * One Tollgate session's tokens: valid tokens on demand, renewed one at a
 * time (callers arriving during a renewal share its outcome), inside the
 * storage's lock when it has one, re-reading the storage first so a session
 * renewed elsewhere (another tab) is used instead of renewed again.
 */
export class TokenSession implements SessionBackend {
  private renewal?: Promise<StoredTokens>;

  constructor(private readonly options: TokenSessionOptions) {}

  /** Valid tokens: the stored ones while fresh, else renewed. */
  async tokens(): Promise<StoredTokens> {
    const stored = await this.options.storage.load();
    if (stored && !this.due(stored)) return stored;
    try {
      return await this.renew('refresh');
    } catch (error) {
      // A refresh ahead of expiry that failed for a passing reason: the current token still works.
      if (stored && isPassing(error) && this.options.context.clock.now() < stored.expiresAt - FALLBACK_MIN_REMAINING_MS) return stored;
      throw error;
    }
  }

  /**
   * One renewal at a time: callers arriving while one runs share its outcome.
   * `rejected` is the access token the proxy just refused; a session renewed
   * since (here or by another holder of the storage) is used as it is.
   */
  renew(mode: RenewMode, rejected?: string): Promise<StoredTokens> {
    this.renewal ??= this.locked(() => this.renewNow(mode, rejected)).finally(() => {
      this.renewal = undefined;
    });
    return this.renewal;
  }

  /** Forgets the session everywhere the storage reaches, then ends it at Tollgate (RFC 7009). */
  async revoke(): Promise<void> {
    // Revoke the newest refresh token, not one a running renewal is about to replace.
    await this.renewal?.catch(() => undefined);
    const stored = await this.locked(async () => {
      const current = await this.options.storage.load();
      await this.options.storage.save(undefined);
      return current;
    });
    const token = stored?.refreshToken ?? stored?.accessToken;
    if (token) await revokeToken(this.options.context, token);
  }

  /** Whether a token should be renewed now: within the margin (at most half its life) of expiry. */
  due(tokens: StoredTokens): boolean {
    const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
    return this.options.context.clock.now() >= tokens.expiresAt - Math.min(this.options.marginMs, lifetime / 2);
  }

  private locked<T>(task: () => Promise<T>): Promise<T> {
    const { storage } = this.options;
    return storage.lock ? storage.lock(task) : task();
  }

  private async renewNow(mode: RenewMode, rejected?: string): Promise<StoredTokens> {
    const { storage } = this.options;
    const stored = await storage.load();
    if (stored && stored.accessToken !== rejected && !this.due(stored)) return stored;
    if (stored?.refreshToken && mode === 'refresh') {
      try {
        return await this.refresh(stored);
      } catch (error) {
        if (!isTollgateError(error, 'invalid_grant')) throw error;
        // Another holder of the storage may have rotated the token first; else the session is over.
        const latest = await storage.load();
        if (latest && latest.refreshToken !== stored.refreshToken && !this.due(latest)) return latest;
      }
    }
    // Start over, once: the old session is of no further use (and other tabs drop it too).
    if (stored) await storage.save(undefined);
    const { subjectTokenType, scope, clientId } = this.options;
    return this.keep(await exchangeToken(this.options.context, { subjectToken: await this.options.subjectToken(), subjectTokenType, scope, clientId }), undefined);
  }

  /**
   * RFC 6749 §6 refresh. When the outcome is uncertain (no answer, a body
   * cut off, a gateway timeout) the server may have rotated the token: the
   * same refresh token is sent again at once, while Tollgate still answers
   * it with the same successor, instead of waiting until a later refresh
   * would count as a reuse and end the session.
   */
  private async refresh(stored: StoredTokens): Promise<StoredTokens> {
    const { context, clientId } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.keep(await refreshTokens(context, { refreshToken: stored.refreshToken!, clientId, dpopKey: stored.dpopKey }), stored);
      } catch (error) {
        const delay = UNCERTAIN_REFRESH_DELAYS_MS[attempt];
        if (!isUncertain(error) || delay === undefined) throw error;
        if (delay > 0) await context.retry.sleep(delay);
      }
    }
  }

  private async keep(set: TokenSet, previous: StoredTokens | undefined): Promise<StoredTokens> {
    const now = this.options.context.clock.now();
    const dpop = set.token_type.toLowerCase() === 'dpop';
    const tokens: StoredTokens = {
      accessToken: set.access_token,
      refreshToken: set.refresh_token,
      obtainedAt: now,
      expiresAt: now + set.expires_in * 1000,
      scope: set.scope,
      tokenType: dpop ? 'DPoP' : 'Bearer',
    };
    // The key the session is bound to travels with its tokens, so another tab holding them can sign proofs.
    const key = dpop ? (previous?.dpopKey ?? (await this.options.context.dpop?.keyPair())) : undefined;
    if (key) tokens.dpopKey = key;
    await this.options.storage.save(tokens);
    return tokens;
  }
}

/** Failures worth riding out with a still-valid token: nothing was decided about the session. */
function isPassing(error: unknown): boolean {
  if (isTollgateError(error, 'NETWORK_ERROR', 'OFFLINE', 'RESPONSE_INTERRUPTED', 'temporarily_unavailable', 'RATE_LIMITED', 'server_error')) return true;
  return isTollgateError(error, 'UNEXPECTED_RESPONSE') && error.status >= 500;
}
