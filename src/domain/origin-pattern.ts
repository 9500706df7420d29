/**
 * Browser origins a CORS policy allows (Fetch standard §3.2; RFC 6454 §7
 * serialisation: `scheme://host[:port]`, lower case, no default port).
 *
 * An allowed origin is exact (`https://app.example.com`, `http://localhost:3000`)
 * or a pattern with two narrow wildcards:
 * - a leading `*.` label: `https://*.example.com` matches `https://pr-42.example.com`,
 *   exactly one DNS label deep (not `https://a.b.example.com`, not the bare
 *   `https://example.com`), and needs at least two literal labels after it
 *   (`https://*.com` is refused);
 * - a `:*` port: `http://localhost:*` matches `http://localhost` and any port.
 *
 * Never `*` alone, never `null` (sandboxed frames and `file:` pages all send
 * `null`, so allowing it would allow every one of them).
 */

const ORIGIN = /^(https?):\/\/(\*\.)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export interface OriginPattern {
  scheme: 'http' | 'https';
  /** The host, or for `*.` patterns the literal suffix after the wildcard label. */
  host: string;
  wildcardLabel: boolean;
  /** `undefined`: the scheme's default port only; `*`: any port. */
  port?: string;
}

/** Parses an allowed-origin entry; `undefined` when it is not a valid exact origin or pattern. */
export function parseOriginPattern(text: string): OriginPattern | undefined {
  const match = ORIGIN.exec(text.toLowerCase());
  if (!match) return undefined;
  const [, scheme, wildcard, host, rawPort] = match as unknown as [string, 'http' | 'https', string | undefined, string, string | undefined];
  if (wildcard && (host.startsWith('[') || IPV4.test(host) || !host.includes('.'))) return undefined;
  if (rawPort !== undefined && rawPort !== '*' && (Number(rawPort) < 1 || Number(rawPort) > 65_535)) return undefined;
  // `https://app.example.com:443` is written by browsers as `https://app.example.com`.
  const port = rawPort === undefined || rawPort === '*' ? rawPort : String(Number(rawPort));
  return { scheme, host, wildcardLabel: Boolean(wildcard), port: port === DEFAULT_PORT[scheme] ? undefined : port };
}

/** True when `origin` (an `Origin` header value) is matched by `pattern`. */
export function matchesOrigin(pattern: OriginPattern, origin: string): boolean {
  const actual = parseOriginPattern(origin);
  if (!actual || actual.wildcardLabel || actual.port === '*' || origin.includes('*')) return false;
  if (actual.scheme !== pattern.scheme) return false;
  if (pattern.port !== '*' && pattern.port !== actual.port) return false;
  if (!pattern.wildcardLabel) return actual.host === pattern.host;
  const suffix = `.${pattern.host}`;
  if (!actual.host.endsWith(suffix)) return false;
  return LABEL.test(actual.host.slice(0, -suffix.length));
}

/** What a page may do at one browser-facing route (its preflight's answer). */
export interface BrowserRoute {
  /** Methods a page may use (`Access-Control-Allow-Methods`, and `Allow` for a plain `OPTIONS`). */
  methods: readonly string[];
  /**
   * Request headers a page may send beyond the CORS-safelisted ones, or
   * `'requested'` to allow whatever header names the preflight asks for (the
   * proxy: which of them reach the upstream is `proxy.forwardHeaders`' call).
   */
  headers: readonly string[] | 'requested';
  /**
   * The route's own handler answers `OPTIONS` requests that are not CORS
   * preflights, and every `OPTIONS` while no origin is allowed (the proxy
   * forwards them to the upstream, as it always has).
   */
  ownOptions?: boolean;
}
