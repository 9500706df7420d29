/**
 * The rules the config schema and the running code share: plain regular
 * expressions and predicates, so the code that applies them at run time
 * (scope parsing, secret refs, issuers' JWKS URLs) does not load the schema
 * library. `config.ts` builds its schema from these.
 */

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** `https://` anywhere; `http://` only for loopback hosts (local development and tests). */
export function isSafeUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.test(url.hostname);
}

/** RFC 6749 §3.3 scope-token (the domain owns it: `src/domain/scope.ts`). */
export { SCOPE_TOKEN } from '../domain/scope';

/** A secret reference: `env:NAME`, `aws-secretsmanager:<id>` or `aws-secretsmanager:<id>#<json key>`. */
export const SECRET_REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|aws-secretsmanager:[^#\s]+(#[^#\s]+)?)$/;

/** The algorithms Tollgate signs its access tokens with (`signing.alg`); RS256 is the default. */
export const SIGNING_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGORITHMS)[number];
