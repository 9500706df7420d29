import { isTollgateError, PROXY_ERROR_CODES, TollgateError, type ProxyErrorCode } from './tollgate-error';
import { IDEMPOTENT_METHODS, parseRetryAfter, resolveRetryOptions, retryDelay, RETRYABLE_STATUSES, type RetryOptions } from './retry-policy';
import { memoryStorage, type StoredTokens, type TokenStorage } from './token-storage';
import { exchangeToken, normalizeBaseUrl, refreshTokens, revokeToken, type EndpointContext, type TokenSet } from './token-endpoint';
import { DpopProver } from './dpop-prover';

export interface TollgateClientOptions {
  /** Tollgate's base URL (`https://tollgate.example.com`, or with the API Gateway stage). */
  baseUrl: string;
  /**
   * Returns a fresh identity token to exchange: a Clerk session token
   * (`() => clerk.session?.getToken()`) or a CI OIDC token. Called on first
   * use and when the session has to start over; nothing (or a throw) ends in
   * `SUBJECT_TOKEN_UNAVAILABLE`.
   */
  getSubjectToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** @default "urn:ietf:params:oauth:token-type:jwt" */
  subjectTokenType?: string;
  /** Scopes to ask for (a subset of what the trust rules grant); omitted asks for all of them. */
  scope?: string | readonly string[];
  /** Recorded on the session; later refreshes send it too. */
  clientId?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source in milliseconds (tests inject one). @default Date */
  clock?: { now(): number };
  /** Where the tokens live. @default memoryStorage() */
  storage?: TokenStorage;
  /**
   * Refresh this long before the access token expires (at most half its
   * lifetime, so a short-lived token is not refreshed on every call). @default 60
   */
  refreshMarginSeconds?: number;
  /** Retries after 429 and 503. */
  retry?: RetryOptions;
  /** Where the proxy is mounted under `baseUrl`. @default "/proxy" */
  proxyPath?: string;
  /**
   * Sender-constrained tokens (RFC 9449 DPoP): `true` makes a non-extractable
   * ES256 key pair on first use (WebCrypto: script can sign with it but never
   * read it out); or pass your own `CryptoKeyPair` (ECDSA P-256/P-384,
   * Ed25519, RS256 or PS256), e.g. one kept in IndexedDB so tabs sharing a
   * `storage` share the key too. Tokens are then bound to the key: a stolen
   * access or refresh token is useless without it. @default false
   */
  dpop?: boolean | CryptoKeyPair;
}

export interface TollgateClient {
  /**
   * Calls the upstream API through the Tollgate proxy: `path` is the upstream
   * path (with its query), `init` as for `fetch`. Resolves with the upstream's
   * response, whatever its status; rejects with a `TollgateError` when
   * Tollgate itself refused or could not complete the call.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A valid access token, exchanging or refreshing first when needed. With
   * `dpop`, it is bound to the client's key: `fetch` sends it with proofs;
   * elsewhere it needs proofs by the same key pair.
   */
  token(): Promise<string>;
  /** Ends the session at Tollgate (RFC 7009) and forgets the tokens. */
  revoke(): Promise<void>;
}

/** Keep using a still-valid token when a proactive refresh fails for a passing reason, if it has this much life left. */
const FALLBACK_MIN_REMAINING_MS = 5_000;

/**
 * A Tollgate client for browsers and Node (it needs only `fetch`). It
 * exchanges on first use, refreshes before expiry and after a 401
 * `TOKEN_EXPIRED` (then retries the call once), runs one renewal at a time
 * (concurrent callers share its result or its failure), starts over with a
 * fresh subject token once when the session has ended, and honours
 * `Retry-After` on 429/503 for idempotent methods. With `dpop`, every call
 * to `/token` and the proxy carries a fresh DPoP proof, and a request for a
 * server nonce is answered once with the nonce it came with.
 */
export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  return new Client(options);
}

interface ProxyFailure {
  code: ProxyErrorCode;
  description?: string;
}

class Client implements TollgateClient {
  private readonly context: EndpointContext;
  private readonly storage: TokenStorage;
  private readonly marginMs: number;
  private readonly proxyBase: URL;
  private readonly scope?: string;
  private readonly prover?: DpopProver;
  private renewal?: Promise<StoredTokens>;

  constructor(private readonly options: TollgateClientOptions) {
    if (typeof options.getSubjectToken !== 'function') throw new TypeError('getSubjectToken must be a function');
    const margin = options.refreshMarginSeconds ?? 60;
    if (!Number.isFinite(margin) || margin < 0) throw new TypeError('refreshMarginSeconds must be a number ≥ 0');
    const baseUrl = normalizeBaseUrl(options.baseUrl);
    const proxyPath = `/${(options.proxyPath ?? '/proxy').replace(/^\/+|\/+$/g, '')}`;
    this.proxyBase = new URL(`${baseUrl}${proxyPath}/`);
    const clock = options.clock ?? { now: () => Date.now() };
    this.prover = options.dpop ? new DpopProver(options.dpop, clock) : undefined;
    this.context = {
      baseUrl,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      clock,
      retry: resolveRetryOptions(options.retry),
      dpop: this.prover,
    };
    this.storage = options.storage ?? memoryStorage();
    this.marginMs = margin * 1000;
    this.scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
  }

  async token(): Promise<string> {
    return (await this.tokens()).accessToken;
  }

  private async tokens(): Promise<StoredTokens> {
    const stored = await this.storage.load();
    if (stored && !this.due(stored)) return stored;
    try {
      return await this.renew('refresh');
    } catch (error) {
      // A refresh ahead of expiry that failed for a passing reason: the current token still works.
      if (stored && isPassing(error) && this.context.clock.now() < stored.expiresAt - FALLBACK_MIN_REMAINING_MS) return stored;
      throw error;
    }
  }

  async revoke(): Promise<void> {
    // Revoke the newest refresh token, not one a running renewal is about to replace.
    await this.renewal?.catch(() => undefined);
    const stored = await this.storage.load();
    await this.storage.save(undefined);
    const token = stored?.refreshToken ?? stored?.accessToken;
    if (token) await revokeToken(this.context, token);
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = this.proxyUrl(path);
    const method = (init.method ?? 'GET').toUpperCase();
    // A refused call is sent again, so its body must be readable twice.
    const body = isStream(init.body) ? await new Response(init.body).arrayBuffer() : init.body;
    let renewedAfterExpiry = false;
    let startedOver = false;
    let nonceRetried = false;
    let retries = 0;
    for (;;) {
      const tokens = await this.tokens();
      const token = tokens.accessToken;
      const headers = new Headers(init.headers);
      // RFC 9449 §7.1: a bound token goes with the DPoP scheme and a proof for this very request (a new one per attempt).
      if (tokens.tokenType === 'DPoP' && this.prover) {
        headers.set('authorization', `DPoP ${token}`);
        headers.set('dpop', await this.prover.proof(method, url, token));
      } else {
        headers.set('authorization', `Bearer ${token}`);
        headers.delete('dpop');
      }
      let response: Response;
      try {
        response = await this.context.fetch(url, { ...init, method, headers, body });
      } catch (cause) {
        if (init.signal?.aborted || (cause as { name?: unknown } | null)?.name === 'AbortError') throw cause;
        throw new TollgateError('NETWORK_ERROR', { endpoint: 'proxy', description: `cannot reach ${this.proxyBase.origin}`, cause });
      }
      this.prover?.observe(response);
      const failure = await proxyFailure(response);
      // RFC 9449 §9: the proxy wants a (new) server nonce; nothing was forwarded, so send again once with it.
      if (failure?.code === 'DPOP_NONCE_REQUIRED' && this.prover && !nonceRetried) {
        nonceRetried = true;
        await discard(response);
        continue;
      }
      if (failure?.code === 'TOKEN_EXPIRED' && !renewedAfterExpiry) {
        renewedAfterExpiry = true;
        await discard(response);
        await this.renew('refresh', token);
        continue;
      }
      if (failure?.code === 'SESSION_ENDED' && !startedOver) {
        startedOver = true;
        await discard(response);
        await this.renew('start-over', token);
        continue;
      }
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.context.clock.now());
      if (RETRYABLE_STATUSES.has(response.status) && IDEMPOTENT_METHODS.has(method)) {
        const delay = retryDelay(++retries, retryAfterMs, this.context.retry);
        if (delay !== undefined) {
          await discard(response);
          await this.context.retry.sleep(delay);
          continue;
        }
      }
      if (!failure) return response;
      throw new TollgateError(failure.code, {
        endpoint: 'proxy',
        status: response.status,
        description: failure.description,
        retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
      });
    }
  }

  /** The proxy URL of an upstream path; refuses anything that would send the token elsewhere. */
  private proxyUrl(path: string): string {
    const invalid = (why: string) => new TollgateError('INVALID_PATH', { endpoint: 'proxy', description: why });
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) throw invalid('path must start with a single /');
    if (/[\\\s]/.test(path)) throw invalid('path must not contain backslashes or white space');
    const url = new URL(path.slice(1), this.proxyBase);
    // The URL parser resolves `..` and `%2e%2e`: whatever is left must still be under the proxy.
    if (url.origin !== this.proxyBase.origin || !url.pathname.startsWith(this.proxyBase.pathname) || url.pathname === this.proxyBase.pathname) {
      throw invalid('path must stay under the proxy');
    }
    if (url.hash) throw invalid('path must not have a fragment');
    return url.toString();
  }

  /** Whether a token should be renewed now: within the margin (at most half its life) of expiry. */
  private due(tokens: StoredTokens): boolean {
    const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
    return this.context.clock.now() >= tokens.expiresAt - Math.min(this.marginMs, lifetime / 2);
  }

  /**
   * One renewal at a time: callers arriving while one runs share its outcome.
   * `rejected` is the access token the proxy just refused; a session renewed
   * since (here or by another holder of the storage) is used as it is.
   */
  private renew(mode: 'refresh' | 'start-over', rejected?: string): Promise<StoredTokens> {
    this.renewal ??= this.locked(() => this.renewNow(mode, rejected)).finally(() => {
      this.renewal = undefined;
    });
    return this.renewal;
  }

  private locked<T>(task: () => Promise<T>): Promise<T> {
    return this.storage.lock ? this.storage.lock(task) : task();
  }

  private async renewNow(mode: 'refresh' | 'start-over', rejected?: string): Promise<StoredTokens> {
    const stored = await this.storage.load();
    if (stored && stored.accessToken !== rejected && !this.due(stored)) return stored;
    if (stored?.refreshToken && mode === 'refresh') {
      try {
        return await this.keep(await refreshTokens(this.context, { refreshToken: stored.refreshToken, clientId: this.options.clientId }));
      } catch (error) {
        if (!isTollgateError(error, 'invalid_grant')) throw error;
        // Another holder of the storage may have rotated the token first; else the session is over.
        const latest = await this.storage.load();
        if (latest && latest.refreshToken !== stored.refreshToken && !this.due(latest)) return latest;
      }
    }
    // Start over, once: the old session is of no further use.
    await this.storage.save(undefined);
    return this.keep(await exchangeToken(this.context, { subjectToken: await this.subjectToken(), subjectTokenType: this.options.subjectTokenType, scope: this.scope, clientId: this.options.clientId }));
  }

  private async subjectToken(): Promise<string> {
    let token: string | null | undefined;
    try {
      token = await this.options.getSubjectToken();
    } catch (cause) {
      throw new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'getSubjectToken failed', cause });
    }
    if (typeof token !== 'string' || token === '') {
      throw new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'getSubjectToken returned no token' });
    }
    return token;
  }

  private async keep(set: TokenSet): Promise<StoredTokens> {
    const now = this.context.clock.now();
    const tokens: StoredTokens = {
      accessToken: set.access_token,
      refreshToken: set.refresh_token,
      obtainedAt: now,
      expiresAt: now + set.expires_in * 1000,
      scope: set.scope,
      tokenType: set.token_type.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
    };
    await this.storage.save(tokens);
    return tokens;
  }
}

const PROXY_CODES = new Set<string>(PROXY_ERROR_CODES);
/** The statuses at which the proxy answers with its own error body. */
const PROXY_ERROR_STATUSES = new Set([400, 401, 403, 404, 413, 429, 500, 502, 503, 504]);

/** Tollgate's own refusal (a JSON body with a proxy `code`), told apart from an upstream's answer. */
async function proxyFailure(response: Response): Promise<ProxyFailure | undefined> {
  if (!PROXY_ERROR_STATUSES.has(response.status)) return undefined;
  if (!(response.headers.get('content-type') ?? '').toLowerCase().includes('application/json')) return undefined;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return undefined;
  }
  const { code, error_description: description } = (body ?? {}) as { code?: unknown; error_description?: unknown };
  if (typeof code !== 'string' || !PROXY_CODES.has(code)) return undefined;
  return { code: code as ProxyErrorCode, description: typeof description === 'string' ? description.slice(0, 300) : undefined };
}

/** Failures worth riding out with a still-valid token: nothing was decided about the session. */
function isPassing(error: unknown): boolean {
  return isTollgateError(error, 'NETWORK_ERROR', 'temporarily_unavailable', 'RATE_LIMITED', 'server_error');
}

function isStream(body: unknown): body is ReadableStream {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
