import type { JWTPayload } from 'jose';

/** RFC 9068 §2.1: the media type of JWT access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * The claims of a Tollgate access token (RFC 9068 plus Tollgate's session and
 * context claims): one definition for the issuer side and the verifier library.
 */
export interface TollgateClaims extends JWTPayload {
  iss: string;
  aud: string;
  /** `<trust name>:<subject>`, e.g. `clerk:user_123` or `github:repo:acme/app:ref:refs/heads/main`. */
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /** Space-separated scopes. */
  scope: string;
  kind: 'user' | 'ci';
  /** The client the session was issued to (the trust name when the client sent none). */
  client_id: string;
  /** GitHub Actions context of ci sessions. */
  gh?: Record<string, string>;
  /** Identity provider context of user sessions: `sid` (Clerk session), `org` `{id, role, slug}`. */
  user?: { sid?: string; org?: { id?: string; role?: string; slug?: string } };
  /** RFC 8693 §4.1: the acting party during impersonation. */
  act?: { sub: string; iss?: string };
  /** RFC 9449 §6: confirmation of the key a DPoP-bound token is bound to. */
  cnf?: { jkt: string };
}
