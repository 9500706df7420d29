import { authorizerConfigFromEnvironment } from '../config/authorizer-config';
import { createAuthorizer } from '../authorizer/authorizer';
import { createVerifier } from '../verifier';

/**
 * Built once per execution environment: the verifier's JWKS cache lives as
 * long as it does. The settings are the ones the `TollgateAuthorizer`
 * construct validated and stamped at synth; anything else stops the init.
 */
const config = authorizerConfigFromEnvironment(process.env);

export const handler = createAuthorizer(
  createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri,
    introspect: config.introspectCacheSeconds !== undefined ? { cacheSeconds: config.introspectCacheSeconds } : undefined,
  }),
  { tokenSources: config.tokenSources, routeScopes: config.routeScopes },
);
