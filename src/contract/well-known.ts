/**
 * The public, cacheable paths of the HTTP interface (RFC 8414 metadata and
 * the JWKS) and how long clients and verifiers may cache them. Read by the
 * metadata handler, the signing-key rotation policy (a retired key stays
 * published longer than any cache can hold the old set) and `cdk/`.
 */
export const WellKnownPaths = {
  metadata: '/.well-known/oauth-authorization-server',
  jwks: '/.well-known/jwks.json',
} as const;

/** `Cache-Control: max-age` of the JWKS and metadata, in seconds. Rotation keeps old keys far longer. */
export const JWKS_MAX_AGE_SECONDS = 300;
