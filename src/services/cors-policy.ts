import type { CorsConfig, ProxyRoute } from '../config/config';
import type { HeaderPair } from '../domain/header-rules';
import { matchesOrigin, parseOriginPattern, type BrowserRoute, type OriginPattern } from '../domain/origin-pattern';

export type { BrowserRoute } from '../domain/origin-pattern';

/** RFC 9110 §5.6.2 token: what a header name in `Access-Control-Request-Headers` may be. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** Tollgate's own headers a browser script needs to read (on errors, and RFC 9449 §9 nonces on any answer). */
export const EXPOSED_HEADERS = ['WWW-Authenticate', 'Retry-After', 'DPoP-Nonce'] as const;

/** The effective policy settings: `cors`, else the older `proxy.cors`, else none. */
export function corsSettings(config: { cors?: CorsConfig; proxy?: { cors?: CorsConfig } }): CorsConfig | undefined {
  return config.cors ?? config.proxy?.cors;
}

/**
 * Tollgate's one CORS policy (Fetch standard §3.2), for every browser-facing
 * route: `/token`, `/revoke`, the metadata and JWKS documents and the proxy.
 * `src/http/cors-middleware.ts` applies it to every handler's answers,
 * errors included; API Gateway's own answers get the same headers from
 * `cdk/tollgate-api.ts`.
 *
 * - An allowed origin (exact or a `*.`/`:*` pattern, `origin-pattern.ts`) is
 *   echoed in `Access-Control-Allow-Origin`, never `*`, so
 *   `allowCredentials` is always safe; every answer carries `Vary: Origin`.
 * - Any other origin gets no CORS header at all: the browser keeps the
 *   answer from the page (the request may still have reached the server; see
 *   docs/security.md, "Browsers and CORS").
 * - A preflight is answered with the route's methods and request headers.
 */
export class CorsPolicy {
  private readonly patterns: OriginPattern[];
  private readonly expose: string;

  constructor(private readonly config: CorsConfig | undefined) {
    this.patterns = (config?.allowedOrigins ?? []).flatMap((origin) => parseOriginPattern(origin) ?? []);
    this.expose = [...new Set<string>([...EXPOSED_HEADERS, ...(config?.exposeHeaders ?? [])])].join(', ');
  }

  /** True when some origin is allowed: only then does Tollgate speak CORS at all. */
  get enabled(): boolean {
    return this.patterns.length > 0;
  }

  /** Whether `origin` (an `Origin` header) may read Tollgate's answers. */
  allows(origin: string | undefined): origin is string {
    if (!origin || origin === 'null' || origin.length > 300) return false;
    return this.patterns.some((pattern) => matchesOrigin(pattern, origin));
  }

  /**
   * The headers answering a preflight from `origin` for `route`, or
   * `undefined` when the origin is not allowed. `requestedHeaders` is the
   * preflight's `Access-Control-Request-Headers`; only RFC 9110 tokens are
   * echoed, and at most 64.
   */
  preflight(origin: string | undefined, route: BrowserRoute, requestedHeaders: string | undefined): HeaderPair[] | undefined {
    if (!this.allows(origin)) return undefined;
    const headers =
      route.headers === 'requested'
        ? (requestedHeaders ?? '')
            .split(',')
            .map((name) => name.trim())
            .filter((name) => TOKEN.test(name))
            .slice(0, 64)
        : route.headers;
    const answer: HeaderPair[] = [
      ['Access-Control-Allow-Origin', origin],
      ['Access-Control-Allow-Methods', route.methods.join(', ')],
      ['Access-Control-Max-Age', String(this.config!.maxAgeSeconds)],
      ['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
    ];
    if (headers.length > 0) answer.push(['Access-Control-Allow-Headers', headers.join(', ')]);
    if (this.config!.allowCredentials) answer.push(['Access-Control-Allow-Credentials', 'true']);
    return answer;
  }

  /** The CORS headers of an actual answer to `origin`: none for an origin not allowed. */
  responseHeaders(origin: string | undefined): HeaderPair[] {
    if (!this.allows(origin)) return [];
    const headers: HeaderPair[] = [['Access-Control-Allow-Origin', origin]];
    if (this.config!.allowCredentials) headers.push(['Access-Control-Allow-Credentials', 'true']);
    headers.push(['Access-Control-Expose-Headers', this.expose]);
    return headers;
  }
}

/**
 * The browser-facing routes and what a page may do at each. `/verify` is not
 * one: RFC 7662 introspection is for resource servers, a browser app reads
 * its own token's lifetime from the token response, and the client never
 * calls it (docs/security.md, "Browsers and CORS"). Neither is the Clerk
 * webhook (called by Svix, server to server).
 */
export const BROWSER_ROUTES = {
  /** RFC 6749 token endpoint: a form (or JSON) POST, with an RFC 9449 `DPoP` proof when the app binds its tokens. */
  token: { methods: ['POST'], headers: ['Content-Type', 'DPoP'] },
  /** RFC 7009 revocation: sign-out from the page. */
  revoke: { methods: ['POST'], headers: ['Content-Type'] },
  /** RFC 8414 metadata and the JWKS: public documents a page (or an in-browser verifier) may read. */
  metadata: { methods: ['GET'], headers: [] },
} as const satisfies Record<string, BrowserRoute>;

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The proxy: the methods its route rules allow, any requested header names, and `OPTIONS` forwarded unless it is a preflight. */
export function proxyBrowserRoute(routes: readonly Pick<ProxyRoute, 'methods'>[]): BrowserRoute {
  const methods = new Set<string>();
  for (const route of routes) for (const method of route.methods) for (const m of method === '*' ? ALL_METHODS : [method]) methods.add(m);
  return { methods: ALL_METHODS.filter((method) => methods.has(method)), headers: 'requested', ownOptions: true };
}

const policies = new WeakMap<object, CorsPolicy>();

/** The one policy of a config (`cors`, else `proxy.cors`), built once per config object and shared by every handler. */
export function corsPolicyFor(config: { cors?: CorsConfig; proxy?: { cors?: CorsConfig } }): CorsPolicy {
  let policy = policies.get(config);
  if (!policy) {
    policy = new CorsPolicy(corsSettings(config));
    policies.set(config, policy);
  }
  return policy;
}
