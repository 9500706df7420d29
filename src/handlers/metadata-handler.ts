import type { MetadataServices } from '../app/services';
import { GrantTypes } from './token-handler';
import { httpHandler, type Observability } from '../http/middleware';
import { BROWSER_ROUTES, corsPolicyFor } from '../services/cors-policy';
import { json, publicJson } from '../http/responses';
import { DPOP_ALGORITHMS } from '../domain/dpop-proof';

import { JWKS_MAX_AGE_SECONDS, WellKnownPaths } from '../contract/well-known';

/** RFC 8414 authorization server metadata. */
export function authorizationServerMetadata(services: MetadataServices): Record<string, unknown> {
  const { issuer, config } = services;
  const scopes = new Set<string>();
  for (const trust of config.trust) for (const rule of trust.rules) for (const scope of rule.scopes) scopes.add(scope);
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/verify`,
    revocation_endpoint: `${issuer}/revoke`,
    jwks_uri: `${issuer}${WellKnownPaths.jwks}`,
    grant_types_supported: [GrantTypes.tokenExchange, GrantTypes.refreshToken],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    introspection_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    scopes_supported: [...scopes].sort(),
    // RFC 9449 §5.1: DPoP is accepted at /token and the proxy with these proof algorithms.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  };
}

/** `GET /.well-known/oauth-authorization-server` and `GET /.well-known/jwks.json`. */
export function createMetadataHandler(services: MetadataServices, observability: Observability) {
  return httpHandler(observability, async (event) => {
    const path = event.resource && !event.resource.includes('{') ? event.resource : event.path;
    if (path.endsWith(WellKnownPaths.jwks)) {
      const keys = await services.signingKeys.load();
      return publicJson({ keys: keys.publicJwks }, JWKS_MAX_AGE_SECONDS);
    }
    if (path.endsWith(WellKnownPaths.metadata)) return publicJson(authorizationServerMetadata(services), JWKS_MAX_AGE_SECONDS);
    return json(404, { error: 'not_found', error_description: 'no such resource' });
  }, {}, { rules: corsPolicyFor(services.config), route: BROWSER_ROUTES.metadata });
}
