import { PROXY_ERROR_CODES, TollgateError, type ProxyErrorCode } from './tollgate-error';
import { IDEMPOTENT_METHODS, parseRetryAfter, resolveRetryOptions, retryDelay, RETRYABLE_STATUSES, type RetryOptions } from './retry-policy';
import { memoryStorage, type TokenStorage } from './token-storage';
import { normalizeBaseUrl, transportError, type EndpointContext } from './token-endpoint';
import { DpopProver } from './dpop-prover';
import { TokenSession, type SessionBackend } from './token-session';
import { canShareBetweenTabs, tabStorage } from './tab-storage';
import { WorkerSession } from './worker-session';

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
  /**
   * Where the tokens live. Default: this tab's memory, shared with the other
   * tabs of the origin that run a client for the same `baseUrl`, `clientId`
   * and `scope` (see `shareSession`). Your own storage replaces all of that.
   */
  storage?: TokenStorage;
  /**
   * Share one session between the open tabs of this origin, in memory only
   * (Web Locks + BroadcastChannel): one refresh per expiry for all tabs, a
   * tab opened later reuses the session, `revoke()` in one tab ends it in
   * all. Only in a browser page whose browser has both APIs; elsewhere the
   * session is this client's own. @default true
   */
  shareSession?: boolean;
  /**
   * URL of `tollgate/client/worker` (`dist/client/tollgate-worker.js`) served
   * from your origin: the session then lives in one SharedWorker for all tabs
   * (where the browser has SharedWorker; else `shareSession` applies). The
   * worker calls Tollgate with its own `fetch`, clock and default retries;
   * the proxy calls still go from the page with these options.
   */
  sharedWorker?: string | URL;
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

/**
 * A Tollgate client for browsers and Node (it needs only `fetch`). It
 * exchanges on first use, refreshes before expiry and after a 401
 * `TOKEN_EXPIRED` (then retries the call once), runs one renewal at a time
 * (concurrent callers share its result or its failure), starts over with a
 * fresh subject token once when the session has ended, and honours
 * `Retry-After` on 429/503 for idempotent methods. With `dpop`, every call
 * to `/token` and the proxy carries a fresh DPoP proof, and a request for a
 * server nonce is answered once with the nonce it came with. In a browser
 * page the tabs of the origin share one session (one renewal per expiry for
 * all of them; `shareSession`, `sharedWorker`). Failures are `TollgateError`s,
 * the browser's own included (`NETWORK_ERROR`, `OFFLINE`, `ABORTED`,
 * `RESPONSE_INTERRUPTED`); a refresh whose outcome is uncertain is sent again
 * at once with the same refresh token.
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
  private readonly proxyBase: URL;
  private readonly prover?: DpopProver;
  private readonly session: SessionBackend;

  constructor(options: TollgateClientOptions) {
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
    const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
    const subjectToken = () => fetchSubjectToken(options.getSubjectToken);
    const shared = { baseUrl, scope, clientId: options.clientId, subjectTokenType: options.subjectTokenType, marginMs: margin * 1000 };
    const name = `tollgate:${baseUrl}|${options.clientId ?? ''}|${scope ?? ''}`;
    const inPage = () => {
      const storage = options.storage ?? (options.shareSession !== false && isBrowserPage() && canShareBetweenTabs() ? tabStorage(name) : memoryStorage());
      return new TokenSession({ ...shared, context: this.context, storage, subjectToken });
    };
    const worker = options.storage === undefined && options.sharedWorker !== undefined && typeof SharedWorker === 'function';
    this.session = worker ? new WorkerSession(options.sharedWorker!, name, { ...shared, dpop: options.dpop || undefined }, subjectToken, inPage) : inPage();
  }

  async token(): Promise<string> {
    return (await this.session.tokens()).accessToken;
  }

  revoke(): Promise<void> {
    return this.session.revoke();
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
      if (init.signal?.aborted) throw transportError(init.signal.reason, 'proxy', url, init.signal);
      const tokens = await this.session.tokens();
      const token = tokens.accessToken;
      const headers = new Headers(init.headers);
      // RFC 9449 §7.1: a bound token goes with the DPoP scheme and a proof for this very request (a new one per attempt).
      if (tokens.tokenType === 'DPoP' && this.prover) {
        headers.set('authorization', `DPoP ${token}`);
        headers.set('dpop', await this.prover.proof(method, url, token, tokens.dpopKey));
      } else {
        headers.set('authorization', `Bearer ${token}`);
        headers.delete('dpop');
      }
      let response: Response;
      try {
        response = await this.context.fetch(url, { ...init, method, headers, body });
      } catch (cause) {
        throw transportError(cause, 'proxy', url, init.signal);
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
        await this.session.renew('refresh', token);
        continue;
      }
      if (failure?.code === 'SESSION_ENDED' && !startedOver) {
        startedOver = true;
        await discard(response);
        await this.session.renew('start-over', token);
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
}

/** Calls the app's `getSubjectToken`; nothing (or a throw) is `SUBJECT_TOKEN_UNAVAILABLE`. */
async function fetchSubjectToken(getSubjectToken: TollgateClientOptions['getSubjectToken']): Promise<string> {
  let token: string | null | undefined;
  try {
    token = await getSubjectToken();
  } catch (cause) {
    throw new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'getSubjectToken failed', cause });
  }
  if (typeof token !== 'string' || token === '') {
    throw new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'getSubjectToken returned no token' });
  }
  return token;
}

/** A page (not Node, not a worker): where tabs exist to share a session between. */
function isBrowserPage(): boolean {
  return typeof (globalThis as { document?: unknown }).document === 'object';
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

function isStream(body: unknown): body is ReadableStream {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
