import { AuthorizerEnvNames } from '../config/env-names';
import { createAuthorizer, type TokenSource } from '../authorizer/authorizer';
import { createVerifier } from '../verifier';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const introspectSeconds = process.env[AuthorizerEnvNames.introspectCacheSeconds];

/** Built once per execution environment: the verifier's JWKS cache lives as long as it does. */
export const handler = createAuthorizer(
  createVerifier({
    issuer: required(AuthorizerEnvNames.issuer),
    audience: required(AuthorizerEnvNames.audience),
    jwksUri: process.env[AuthorizerEnvNames.jwksUri] || undefined,
    introspect: introspectSeconds ? { cacheSeconds: Number(introspectSeconds) } : undefined,
  }),
  {
    tokenSources: JSON.parse(process.env[AuthorizerEnvNames.tokenSources] ?? '[{"type":"header","name":"authorization"}]') as TokenSource[],
    routeScopes: JSON.parse(process.env[AuthorizerEnvNames.routeScopes] ?? '{}') as Record<string, string[]>,
  },
);
