/** A header as a `[lower-case name, value]` pair; repeated headers are repeated pairs. */
export type HeaderPair = [string, string];

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the old `Keep-Alive`; `Proxy-*` is matched by prefix. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Request headers never forwarded, whatever `forwardHeaders` says: the
 * client's credentials (the upstream gets Tollgate's), `Host` (the upstream's
 * comes from `upstreamUrl`), the length and `Expect` (recomputed for the
 * buffered body), and every header a client could use to lie about where the
 * request came from (Tollgate sets `X-Forwarded-For`/`-Proto` itself).
 * `DPoP` proofs go with the credentials: they are Tollgate's to check.
 */
const NEVER_FORWARDED = new Set([
  'authorization',
  // RFC 9449: the DPoP proof is for Tollgate, like the token it accompanies.
  'dpop',
  'cookie',
  'host',
  'content-length',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  // Method overrides: route rules check the request's own method, so an upstream that honours one must never
  // see it (a GET allowed by a read rule would become a DELETE there).
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** Every request header name Tollgate drops by name (hop-by-hop, credentials, origin, overrides); `Proxy-*` and `X-Tollgate-*` go by prefix. */
export const STRIPPED_REQUEST_HEADERS: readonly string[] = [...NEVER_FORWARDED, ...HOP_BY_HOP];

/** Prefix of the identity headers: only Tollgate sets them, any inbound one is dropped. */
export const IDENTITY_HEADER_PREFIX = 'x-tollgate-';

/**
 * Response headers never returned: hop-by-hop ones, the length (recomputed),
 * `Set-Cookie` (the upstream's session cookies would land on Tollgate's
 * origin), `DPoP-Nonce` (Tollgate alone speaks DPoP to the client) and
 * `Access-Control-*` (Tollgate alone answers CORS, see `CorsPolicy`).
 */
const NEVER_RETURNED = new Set(['content-length', 'set-cookie', 'set-cookie2', 'dpop-nonce']);

/** The names a `Connection` header lists (RFC 9110 §7.6.1: those are hop-by-hop too). */
function connectionTokens(headers: readonly HeaderPair[]): Set<string> {
  const tokens = new Set<string>();
  for (const [name, value] of headers) {
    if (name !== 'connection') continue;
    for (const token of value.split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed) tokens.add(trimmed);
    }
  }
  return tokens;
}

function isHopByHop(name: string, listed: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || listed.has(name);
}

/**
 * The only request header names forwarded: letters, digits and `-` (nginx's
 * default, `ignore_invalid_headers` with `underscores_in_headers off`). CGI,
 * WSGI, Rack, PHP and many frameworks read `X_Tollgate_Subject`,
 * `x.tollgate.subject` and `X-Tollgate-Subject` as the same variable
 * (`HTTP_X_TOLLGATE_SUBJECT`), so a name with `_`, `.` or any other
 * character could stand in for an identity header, the upstream credential
 * or `X-Forwarded-For` (the Puma 2024 and oauth2-proxy 2025 CVEs).
 */
const FORWARDABLE_NAME = /^[a-z0-9-]+$/;

/**
 * A header name as CGI-style servers key it (RFC 3875 §4.1.18: case folded,
 * `-` and `_` alike), with every other non-alphanumeric folded too:
 * two names with the same key are the same header to some upstream.
 */
export function headerNameKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '-');
}

/** The allow-list's keys (and `content-type`), per list: the list is config, the same array on every request. */
const allowedByList = new WeakMap<readonly string[], ReadonlySet<string>>();

function allowedNames(allowList: readonly string[]): ReadonlySet<string> {
  let allowed = allowedByList.get(allowList);
  if (!allowed) {
    allowed = new Set([...allowList.map(headerNameKey), 'content-type']);
    // A list changed in place (never done by config, which is frozen) would go unnoticed otherwise.
    if (Object.isFrozen(allowList)) allowedByList.set(allowList, allowed);
  }
  return allowed;
}

export interface ForwardOptions {
  /** `proxy.forwardHeaders`: when set, only these (and `Content-Type`) pass. */
  allowList?: readonly string[];
  /** The header the upstream credential goes in (`X-Api-Key`, `Authorization`): a client's own is dropped. */
  credentialHeader?: string;
}

/**
 * The client's headers the upstream may see: only names of letters, digits
 * and `-` (`FORWARDABLE_NAME`), and of those everything except the
 * `NEVER_FORWARDED` set, hop-by-hop headers (and those `Connection` names),
 * any `X-Tollgate-*`, and the credential header, each compared by
 * `headerNameKey`; narrowed to `allowList` when one is configured. Names
 * arrive lower-cased (`headerPairs`); the check folds case again anyway.
 */
export function forwardableRequestHeaders(headers: readonly HeaderPair[], options: ForwardOptions = {}): HeaderPair[] {
  const tokens = connectionTokens(headers);
  const listed = tokens.size === 0 ? tokens : new Set([...tokens].map(headerNameKey));
  const allowed = options.allowList ? allowedNames(options.allowList) : undefined;
  const credential = options.credentialHeader === undefined ? undefined : headerNameKey(options.credentialHeader);
  return headers.filter(([name]) => {
    const lower = name.toLowerCase();
    if (!FORWARDABLE_NAME.test(lower)) return false;
    if (NEVER_FORWARDED.has(lower) || isHopByHop(lower, listed) || lower.startsWith(IDENTITY_HEADER_PREFIX) || lower === credential) {
      return false;
    }
    return allowed ? allowed.has(lower) : true;
  });
}

/** The upstream's headers the client may see: minus hop-by-hop, `Set-Cookie`, the length and `Access-Control-*`. */
export function returnableResponseHeaders(headers: readonly HeaderPair[]): HeaderPair[] {
  const listed = connectionTokens(headers);
  return headers.filter(([name]) => !NEVER_RETURNED.has(name) && !isHopByHop(name, listed) && !name.startsWith('access-control-'));
}

/**
 * A claim value as a header value: visible ASCII and spaces pass as they are,
 * anything else (non-ASCII, control characters) is percent-encoded as UTF-8,
 * so a claim can never split or smuggle a header. Never throws: a lone
 * UTF-16 surrogate (which `encodeURIComponent` refuses) is encoded as
 * U+FFFD, as `TextEncoder` does.
 */
export function headerSafe(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return encodeURIComponent(toWellFormed(value));
}

/**
 * The string with each lone UTF-16 surrogate replaced by U+FFFD (ES2024's
 * `String.prototype.toWellFormed`): what `encodeURIComponent` and UTF-8
 * encoders need, since a lone surrogate has no UTF-8 form.
 */
export function toWellFormed(value: string): string {
  return value.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
}

/**
 * Lower-cases names and flattens API Gateway's single- and multi-value header
 * maps into pairs. Names are data: only own entries are read, and a name like
 * `__proto__` or `constructor` is a header like any other.
 */
export function headerPairs(
  headers: Record<string, string | undefined> | null | undefined,
  multiValueHeaders: Record<string, string[] | undefined> | null | undefined,
): HeaderPair[] {
  const pairs: HeaderPair[] = [];
  let seen: Set<string> | undefined;
  if (multiValueHeaders) {
    seen = new Set<string>();
    for (const name of Object.keys(multiValueHeaders)) {
      const lower = name.toLowerCase();
      const values = multiValueHeaders[name];
      if (values) for (const value of values) pairs.push([lower, value]);
      seen.add(lower);
    }
  }
  if (headers) {
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      const value = headers[name];
      if (value !== undefined && !seen?.has(lower)) pairs.push([lower, value]);
    }
  }
  return pairs;
}
