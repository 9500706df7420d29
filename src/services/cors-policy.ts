import type { CorsConfig, ProxyRoute } from '../config/config';
import type { HeaderPair } from '../domain/header-rules';
import { ProxyError } from '../domain/errors';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** RFC 9110 §5.6.2 token: what a header name in `Access-Control-Request-Headers` may be. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** Tollgate's own headers a browser script needs to read (on errors, and RFC 9449 §9 nonces on any answer). */
const EXPOSED = ['WWW-Authenticate', 'Retry-After', 'DPoP-Nonce'];

export type CorsAnswer = { status: 204; headers: HeaderPair[] };

/**
 * CORS for the proxy (Fetch standard §3.2). Tollgate alone answers it: the
 * upstream's `Access-Control-*` headers are dropped, since the browser talks
 * to Tollgate's origin, not the upstream's.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 *   is answered here, without a token: 204 for an allowed origin, 403
 *   `ORIGIN_NOT_ALLOWED` otherwise. Without `proxy.cors` there is no
 *   preflight handling and such a request is proxied like any other.
 * - Every other response names the origin in `Access-Control-Allow-Origin`
 *   only when it is allowed, never `*` (so `allowCredentials` is always safe),
 *   and carries `Vary: Origin` so shared caches keep origins apart.
 */
export class CorsPolicy {
  private readonly origins: Set<string>;
  private readonly methods: string;

  constructor(
    private readonly config: CorsConfig | undefined,
    routes: readonly ProxyRoute[],
  ) {
    this.origins = new Set((config?.allowedOrigins ?? []).map((origin) => origin.toLowerCase()));
    const methods = new Set<string>();
    for (const route of routes) for (const method of route.methods) for (const m of method === '*' ? ALL_METHODS : [method]) methods.add(m);
    this.methods = ALL_METHODS.filter((method) => methods.has(method)).join(', ');
  }

  /** True for a CORS preflight Tollgate answers itself. */
  isPreflight(method: string, headers: readonly HeaderPair[]): boolean {
    return (
      this.config !== undefined &&
      method.toUpperCase() === 'OPTIONS' &&
      headers.some(([name]) => name === 'origin') &&
      headers.some(([name]) => name === 'access-control-request-method')
    );
  }

  /** Answers a preflight; throws `ORIGIN_NOT_ALLOWED` for an origin not on the list. */
  preflight(headers: readonly HeaderPair[]): CorsAnswer {
    const origin = headers.find(([name]) => name === 'origin')?.[1];
    if (!origin || !this.allows(origin)) throw new ProxyError('ORIGIN_NOT_ALLOWED', { detail: 'preflight from an origin not listed' });
    const requested = (headers.find(([name]) => name === 'access-control-request-headers')?.[1] ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => TOKEN.test(name))
      .slice(0, 64);
    const answer: HeaderPair[] = [
      ['Access-Control-Allow-Origin', origin],
      ['Access-Control-Allow-Methods', this.methods],
      ['Access-Control-Max-Age', String(this.config!.maxAgeSeconds)],
      ['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
    ];
    if (requested.length > 0) answer.push(['Access-Control-Allow-Headers', requested.join(', ')]);
    if (this.config!.allowCredentials) answer.push(['Access-Control-Allow-Credentials', 'true']);
    return { status: 204, headers: answer };
  }

  /**
   * The CORS headers of an actual response (upstream's or Tollgate's own
   * error), added to `headers`. `exposed` are header names the upstream asked
   * browsers to expose (its `Access-Control-Expose-Headers`).
   */
  decorate(headers: HeaderPair[], origin: string | undefined, exposed: readonly string[] = []): HeaderPair[] {
    if (!this.config) return headers;
    const out = headers.filter(([name]) => name.toLowerCase() !== 'vary');
    const vary = headers.filter(([name]) => name.toLowerCase() === 'vary').map(([, value]) => value);
    if (!vary.some((value) => value.split(',').some((token) => token.trim().toLowerCase() === 'origin' || token.trim() === '*'))) {
      vary.push('Origin');
    }
    out.push(['Vary', vary.join(', ')]);
    if (origin && this.allows(origin)) {
      out.push(['Access-Control-Allow-Origin', origin]);
      if (this.config.allowCredentials) out.push(['Access-Control-Allow-Credentials', 'true']);
      const expose = [...new Set([...EXPOSED, ...exposed.filter((name) => TOKEN.test(name))])];
      out.push(['Access-Control-Expose-Headers', expose.join(', ')]);
    }
    return out;
  }

  private allows(origin: string): boolean {
    return origin !== 'null' && this.origins.has(origin.toLowerCase());
  }
}
