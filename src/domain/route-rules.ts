/** The methods a proxy route may list; `*` allows any. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;
export type RouteMethod = (typeof HTTP_METHODS)[number];

/** A proxy route rule (`proxy.routes[]` in the config). */
export interface ProxyRoute {
  /** The rule's name in metrics and logs (the `route` dimension); its index when unset. */
  readonly name?: string;
  readonly methods: readonly RouteMethod[];
  /** A path glob: segments of `*`, `**` or literals. */
  readonly path: string;
  /** Scopes a token needs for this route (all of them). */
  readonly scopes: readonly string[];
}
import { matchesPathGlob } from './glob';

/** A matched rule and its id: the `route` dimension of the proxy's metrics and log line. */
export interface MatchedRoute {
  rule: ProxyRoute;
  /** The rule's `name`, else its index in `proxy.routes` (a bounded set either way, never the path). */
  id: string;
}

/** The `route` value for requests that matched no rule (or were refused before matching). */
export const NO_ROUTE = 'none';

/**
 * The first rule whose methods and path glob match decides (`*` one segment,
 * `**` any number); `undefined` means no rule matches, and the proxy denies.
 * `path` is the canonical path from `canonicalProxyPath`; methods compare
 * exactly (a `GET` rule does not allow `HEAD`), `*` allows any method.
 */
export function matchRoute(routes: readonly ProxyRoute[], method: string, path: string): MatchedRoute | undefined {
  const upper = method.toUpperCase();
  for (const [index, rule] of routes.entries()) {
    if (!rule.methods.some((allowed) => allowed === '*' || allowed === upper)) continue;
    if (!matchesPathGlob(rule.path, path)) continue;
    return { rule, id: rule.name ?? String(index) };
  }
  return undefined;
}
