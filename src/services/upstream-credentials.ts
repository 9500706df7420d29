import type { UpstreamAuth } from '../config/config';
import type { Clock } from '../domain/clock';
import type { SecretResolver } from '../ports/secret-resolver';
import type { HeaderPair } from '../domain/header-rules';
import { ProxyError } from '../domain/errors';

/** The credential header one request was sent with, and what to forget if the upstream refuses it. */
export interface AppliedCredential {
  header: HeaderPair;
  /** Identifies the credential (the token itself): only that exact one is dropped after a 401. */
  lease?: string;
}

/** The upstream's credential, injected into every forwarded request. It never reaches the client or a log. */
export interface UpstreamCredential {
  /** Lower-case name of the header the credential goes in; a client's own header of that name is dropped. */
  readonly headerName: string;
  current(signal: AbortSignal): Promise<AppliedCredential>;
  /** The upstream answered 401 to `used`: forget it. True when a retry with a fresh credential can help. */
  rejected(used: AppliedCredential): boolean;
}

/** `header` and `bearer` credentials: a secret ref resolved (and cached) by the `SecretResolver`. */
export class SecretHeaderCredential implements UpstreamCredential {
  readonly headerName: string;

  constructor(
    private readonly secrets: SecretResolver,
    private readonly ref: string,
    headerName: string,
    private readonly format: (secret: string) => string = (secret) => secret,
  ) {
    this.headerName = headerName.toLowerCase();
  }

  async current(): Promise<AppliedCredential> {
    return { header: [this.headerName, this.format(await this.secrets.resolve(this.ref))] };
  }

  /** A static secret does not get better by asking again: the 401 goes to the client. */
  rejected(): boolean {
    return false;
  }
}

type ClientCredentialsAuth = Extract<UpstreamAuth, { type: 'oauth2-client-credentials' }>;

/** Lifetime assumed when the token endpoint sends no `expires_in` (RFC 6749 §5.1 only RECOMMENDS it). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;
/** Largest token endpoint response read. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** RFC 6750 §2.1 b64token, loosely: visible ASCII, so the token is a safe header value. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** How long before `expires_in` a cached token is replaced: 10% of its lifetime, at most 60 s. */
export function refreshMarginSeconds(expiresIn: number): number {
  return Math.min(60, expiresIn * 0.1);
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** Rejects when `signal` aborts first; the shared promise itself carries on for the other waiters. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ProxyError('UPSTREAM_TIMEOUT', { detail: 'deadline passed waiting for the upstream token' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ProxyError('UPSTREAM_TIMEOUT', { detail: 'deadline passed waiting for the upstream token' }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * RFC 6749 §4.4 client credentials: Tollgate obtains the upstream's access
 * token itself and sends it as `Authorization: Bearer`. The token is cached
 * until `refreshMarginSeconds` before it expires; however many requests need
 * a token at once, one fetch runs and they all wait for it (single flight).
 * A failed fetch is not cached. After an upstream 401 only the token that
 * was refused is dropped (a newer one fetched meanwhile stays).
 *
 * Does not: use refresh tokens (§4.4.3 says none should be issued), or
 * support DPoP or mTLS-bound tokens (`token_type` must be `Bearer`).
 */
export class ClientCredentialsToken implements UpstreamCredential {
  readonly headerName = 'authorization';
  private cached?: { token: string; refreshAt: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly auth: ClientCredentialsAuth,
    private readonly secrets: SecretResolver,
    private readonly fetchImpl: typeof fetch,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  async current(signal: AbortSignal): Promise<AppliedCredential> {
    const token = await this.token(signal);
    return { header: ['authorization', `Bearer ${token}`], lease: token };
  }

  rejected(used: AppliedCredential): boolean {
    if (this.cached && this.cached.token === used.lease) this.cached = undefined;
    return true;
  }

  private token(signal: AbortSignal): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.refreshAt) return Promise.resolve(this.cached.token);
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return untilAborted(this.inflight, signal);
  }

  private async fetchToken(): Promise<string> {
    const { auth } = this;
    const secret = await this.secrets.resolve(auth.clientSecret);
    const parameters = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) parameters.set('scope', auth.scope);
    if (auth.audience) parameters.set('audience', auth.audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (auth.authMethod === 'client_secret_post') {
      parameters.set('client_id', auth.clientId);
      parameters.set('client_secret', secret);
    } else {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(auth.clientId)}:${formEncode(secret)}`).toString('base64')}`;
    }

    let status: number;
    let bytes: ArrayBuffer;
    try {
      const response = await this.fetchImpl(auth.tokenUrl, {
        method: 'POST',
        headers,
        body: parameters.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      bytes = await response.arrayBuffer();
    } catch (error) {
      const name = (error as Error).name;
      throw new ProxyError(name === 'TimeoutError' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', {
        detail: `upstream token endpoint: ${name === 'TimeoutError' ? 'no answer in time' : describeFetchError(error)}`,
      });
    }
    const body = bytes.byteLength <= MAX_TOKEN_RESPONSE_BYTES ? parseJson(Buffer.from(bytes).toString('utf8')) : undefined;
    if (status !== 200) {
      const code = typeof body?.error === 'string' && /^[a-z_]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
      throw tokenEndpointFailure(`HTTP ${status}${code}`);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || !TOKEN_CHARS.test(token)) throw tokenEndpointFailure('no usable access_token');
    if (body?.token_type !== undefined && String(body.token_type).toLowerCase() !== 'bearer') {
      throw tokenEndpointFailure('token_type is not Bearer');
    }
    const expiresIn = Number(body?.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 0;
    this.cached = { token, refreshAt: this.clock.now() + (lifetime - refreshMarginSeconds(lifetime)) * 1000 };
    return token;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function tokenEndpointFailure(detail: string): ProxyError {
  return new ProxyError('UPSTREAM_UNAVAILABLE', { detail: `upstream token endpoint: ${detail}` });
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as Error).name ?? 'fetch failed';
}

/** Builds the configured credential, or none. */
export function createUpstreamCredential(
  auth: UpstreamAuth | undefined,
  deps: { secrets: SecretResolver; fetch: typeof fetch; clock: Clock; timeoutMs: number },
): UpstreamCredential | undefined {
  if (!auth) return undefined;
  switch (auth.type) {
    case 'header':
      return new SecretHeaderCredential(deps.secrets, auth.value, auth.name);
    case 'bearer':
      return new SecretHeaderCredential(deps.secrets, auth.token, 'authorization', (token) => `Bearer ${token}`);
    case 'oauth2-client-credentials':
      return new ClientCredentialsToken(auth, deps.secrets, deps.fetch, deps.clock, deps.timeoutMs);
  }
}
