/** RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Most scopes one request may name; more is an abuse, not a mistake. */
export const MAX_REQUESTED_SCOPES = 100;

/**
 * Parses an RFC 6749 §3.3 `scope` parameter: space-separated scope tokens.
 * Returns `null` when the value is malformed (empty tokens from double spaces
 * are tolerated, illegal characters are not).
 */
export function parseScope(value: string): string[] | null {
  const tokens = value.split(' ').filter((token) => token !== '');
  if (tokens.length > MAX_REQUESTED_SCOPES) return null;
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) return null;
  return [...new Set(tokens)];
}

/** Scopes in `requested` that `granted` does not hold. */
export function missingScopes(requested: readonly string[], granted: readonly string[]): string[] {
  const held = new Set(granted);
  return requested.filter((scope) => !held.has(scope));
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}
