import { errorCodeOf, TollgateError, type TollgateEndpoint } from './tollgate-error';
import { parseRetryAfter, retryDelay, RETRYABLE_STATUSES, type ResolvedRetryOptions } from './retry-policy';
import type { DpopProver } from './dpop-prover';

/** RFC 8693 §3 and §2.1 identifiers. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** The RFC 6749 §5.1 success body, checked. */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope?: string;
  issued_token_type?: string;
}

/** What the endpoint calls need: where, how to fetch, what time it is, how to retry, and the DPoP key if any. */
export interface EndpointContext {
  baseUrl: string;
  fetch: typeof fetch;
  clock: { now(): number };
  retry: ResolvedRetryOptions;
  /** With it, every `/token` request carries a DPoP proof (RFC 9449 §5) and asks for key-bound tokens. */
  dpop?: DpopProver;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Checks and normalises Tollgate's base URL (`https://host[/stage]`, no
 * trailing slash). Tokens never travel over plain HTTP except to a loopback
 * host (local development).
 */
export function normalizeBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.username || url.password) throw new TypeError('baseUrl must not carry credentials');
  if (url.search || url.hash) throw new TypeError('baseUrl must not have a query or fragment');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new TypeError('baseUrl must be https:// (http:// only for localhost and 127.0.0.1)');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * POSTs a form to one of Tollgate's OAuth endpoints and returns the parsed
 * JSON body of a 200 (undefined when empty). Retries 429 and 503 within the
 * retry policy: at these endpoints both mean nothing was done (a refused or
 * failed exchange gives its single-use subject token back), so a retry is
 * safe even though the method is POST. Any other failure becomes a
 * `TollgateError` with the server's code.
 *
 * With `context.dpop`, each attempt at `/token` carries a fresh proof, and a
 * `use_dpop_nonce` refusal (RFC 9449 §8: nothing was done) is retried once
 * with the nonce it carried.
 */
export async function postForm(
  context: EndpointContext,
  endpoint: Exclude<TollgateEndpoint, 'proxy' | 'subject'>,
  parameters: Record<string, string | undefined>,
  /** The key pair the session is bound to, when it is not the client's own (a session another tab started). */
  dpopKey?: CryptoKeyPair,
): Promise<unknown> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined && value !== '') form.set(name, value);
  const url = `${context.baseUrl}/${endpoint}`;
  const dpop = endpoint === 'token' ? context.dpop : undefined;
  let nonceRetried = false;
  for (let attempt = 1; ; attempt++) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (dpop) headers.dpop = await dpop.proof('POST', url, undefined, dpopKey);
    let response: Response;
    try {
      response = await context.fetch(url, { method: 'POST', headers, body: form.toString() });
    } catch (cause) {
      throw transportError(cause, endpoint, url);
    }
    const newNonce = dpop?.observe(response) ?? false;
    if (response.ok) return readJson(response, endpoint, true);
    if (dpop && newNonce && !nonceRetried && response.status === 400 && errorCodeOf(await response.clone().json().catch(() => undefined)) === 'use_dpop_nonce') {
      nonceRetried = true;
      await response.body?.cancel().catch(() => undefined);
      continue;
    }
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), context.clock.now());
    if (RETRYABLE_STATUSES.has(response.status)) {
      const delay = retryDelay(attempt, retryAfterMs, context.retry);
      if (delay !== undefined) {
        await response.body?.cancel().catch(() => undefined);
        await context.retry.sleep(delay);
        continue;
      }
    }
    throw await errorFrom(response, endpoint, retryAfterMs);
  }
}

/** A `TollgateError` from an error response: the body's code, else `UNEXPECTED_RESPONSE`. */
export async function errorFrom(response: Response, endpoint: TollgateEndpoint, retryAfterMs?: number): Promise<TollgateError> {
  let body: unknown;
  try {
    body = await readJson(response, endpoint, false);
  } catch {
    body = undefined;
  }
  const description = (body as { error_description?: unknown } | undefined)?.error_description;
  return new TollgateError(errorCodeOf(body) ?? 'UNEXPECTED_RESPONSE', {
    endpoint,
    status: response.status,
    description: typeof description === 'string' ? description.slice(0, 300) : `HTTP ${response.status}`,
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  });
}

/**
 * What a failed `fetch` means, as a `TollgateError`: the caller's abort
 * (`ABORTED`), an offline device (`OFFLINE`), or no readable answer
 * (`NETWORK_ERROR`: in a browser that includes an answer withheld for want
 * of CORS headers, which no script can tell from a refused connection).
 */
export function transportError(cause: unknown, endpoint: TollgateEndpoint, url: string, signal?: AbortSignal | null): TollgateError {
  if (signal?.aborted || (cause as { name?: unknown } | null)?.name === 'AbortError') {
    return new TollgateError('ABORTED', { endpoint, description: 'the call was aborted', cause: signal?.aborted ? signal.reason : cause });
  }
  if ((globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false) {
    return new TollgateError('OFFLINE', { endpoint, description: 'the device is offline', cause });
  }
  const page = (globalThis as { location?: { origin?: string } }).location?.origin;
  const hint = page && page !== new URL(url).origin ? ` (unreachable, or its answer was blocked by CORS: is ${page} in Tollgate's cors.allowedOrigins?)` : '';
  // A proxied call's path and query are the app's data: name only Tollgate's origin then.
  const target = endpoint === 'proxy' ? new URL(url).origin : url;
  return new TollgateError('NETWORK_ERROR', { endpoint, description: `cannot reach ${target}${hint}`, cause });
}

/**
 * True when a failed call may still have taken effect at the server: no
 * answer, a body cut mid-read, or a 500/502/504 (a gateway gave up on a
 * function that may have finished). A refresh that failed this way may have
 * rotated the refresh token; Tollgate answers the same refresh again with
 * the same successor within its grace window (`refreshReuseGraceSeconds`).
 */
export function isUncertain(error: unknown): boolean {
  if (!(error instanceof TollgateError)) return false;
  return error.code === 'NETWORK_ERROR' || error.code === 'RESPONSE_INTERRUPTED' || error.status === 500 || error.status === 502 || error.status === 504;
}

async function readJson(response: Response, endpoint: TollgateEndpoint, strict: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    // The status line and headers arrived, the body did not: the server acted on the request.
    throw new TollgateError('RESPONSE_INTERRUPTED', { endpoint, status: response.status, description: 'the answer was cut off mid-body', cause });
  }
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    if (!strict) return undefined;
    throw new TollgateError('UNEXPECTED_RESPONSE', { endpoint, status: response.status, description: 'response is not JSON', cause });
  }
}

/**
 * RFC 6749 §5.1: the fields a client relies on, with their types. A `DPoP`
 * token type (RFC 9449 §5) is accepted only from a request that sent a proof.
 */
export function checkTokenSet(body: unknown, options: { dpop?: boolean } = {}): TokenSet {
  const set = body as Partial<TokenSet> | undefined;
  const type = typeof set?.token_type === 'string' ? set.token_type.toLowerCase() : undefined;
  const valid =
    !!set &&
    typeof set.access_token === 'string' &&
    set.access_token !== '' &&
    (type === 'bearer' || (type === 'dpop' && options.dpop === true)) &&
    typeof set.expires_in === 'number' &&
    Number.isFinite(set.expires_in) &&
    set.expires_in > 0 &&
    (set.refresh_token === undefined || typeof set.refresh_token === 'string') &&
    (set.scope === undefined || typeof set.scope === 'string');
  if (!valid) throw new TollgateError('UNEXPECTED_RESPONSE', { endpoint: 'token', status: 200, description: 'not a token response' });
  return set as TokenSet;
}

export interface ExchangeParameters {
  subjectToken: string;
  subjectTokenType?: string;
  /** Space-separated; omitted asks for everything the trust rules grant. */
  scope?: string;
  clientId?: string;
}

/** RFC 8693 token exchange at `POST /token`. */
export async function exchangeToken(context: EndpointContext, parameters: ExchangeParameters): Promise<TokenSet> {
  return checkTokenSet(
    await postForm(context, 'token', {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: parameters.subjectToken,
      subject_token_type: parameters.subjectTokenType ?? JWT_TOKEN_TYPE,
      scope: parameters.scope,
      client_id: parameters.clientId,
    }),
    { dpop: context.dpop !== undefined },
  );
}

/** RFC 6749 §6 refresh at `POST /token`; the answer carries the rotated refresh token. */
export async function refreshTokens(
  context: EndpointContext,
  parameters: { refreshToken: string; scope?: string; clientId?: string; dpopKey?: CryptoKeyPair },
): Promise<TokenSet> {
  return checkTokenSet(
    await postForm(
      context,
      'token',
      {
        grant_type: 'refresh_token',
        refresh_token: parameters.refreshToken,
        scope: parameters.scope,
        client_id: parameters.clientId,
      },
      parameters.dpopKey,
    ),
    { dpop: context.dpop !== undefined },
  );
}

/** RFC 7009 revocation at `POST /revoke`: ends the whole session behind the token. */
export async function revokeToken(context: EndpointContext, token: string): Promise<void> {
  await postForm(context, 'revoke', { token });
}

/** RFC 7662 introspection at `POST /verify`. */
export async function introspectToken(context: EndpointContext, token: string): Promise<{ active: boolean } & Record<string, unknown>> {
  const body = (await postForm(context, 'verify', { token })) as { active?: unknown } | undefined;
  if (!body || typeof body.active !== 'boolean') {
    throw new TollgateError('UNEXPECTED_RESPONSE', { endpoint: 'verify', status: 200, description: 'not an introspection response' });
  }
  return body as { active: boolean } & Record<string, unknown>;
}
