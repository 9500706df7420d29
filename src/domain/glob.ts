/**
 * Glob patterns of trust rules and proxy routes.
 *
 * Claim patterns: `*` matches any run of characters except `/`, `**` matches
 * anything; everything else is literal. Path globs: `*` matches exactly one
 * non-empty segment, a `**` segment matches zero or more segments.
 */

const cache = new Map<string, RegExp>();

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Compiles a claim pattern into an anchored RegExp (cached). */
export function compileClaimPattern(pattern: string): RegExp {
  const key = `c:${pattern}`;
  let re = cache.get(key);
  if (!re) {
    const source = pattern
      .split('**')
      .map((part) => part.split('*').map(escapeLiteral).join('[^/]*'))
      .join('[\\s\\S]*');
    re = new RegExp(`^${source}$`);
    cache.set(key, re);
  }
  return re;
}

export function matchesClaimPattern(pattern: string, value: string): boolean {
  return compileClaimPattern(pattern).test(value);
}

/** Compiles a path glob (`/orders/*\/items/**`) into an anchored RegExp (cached). */
export function compilePathGlob(glob: string): RegExp {
  const key = `p:${glob}`;
  let re = cache.get(key);
  if (!re) {
    const segments = glob.split('/').filter((segment) => segment !== '');
    let source = '';
    for (const segment of segments) {
      if (segment === '**') source += '(?:/[^/]+)*';
      // A whole-segment `*` is one non-empty segment: `/orders/*` must not match `/orders/` or `/a//b`.
      else if (segment === '*') source += '/[^/]+';
      else source += '/' + segment.split('*').map(escapeLiteral).join('[^/]*');
    }
    re = new RegExp(`^${source}$`);
    // The root `/` is zero segments: globs that match zero segments (`/`, `/**`) match it.
    if (re.test('')) re = new RegExp(`^(?:${source}|/)$`);
    cache.set(key, re);
  }
  return re;
}

export function matchesPathGlob(glob: string, path: string): boolean {
  return compilePathGlob(glob).test(path);
}
