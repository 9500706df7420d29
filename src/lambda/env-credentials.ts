import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles
 * (`LAMBDA_BUNDLE_ALIASES` in `./bundling`). Every SDK client is built with
 * the environment's credentials (`src/adapters/sdk-credentials.ts`), but each
 * client's runtime config still imports the default chain, whose SSO, INI,
 * `credential_process`, web identity and metadata providers (and the STS and
 * SSO clients they need) a Lambda never uses. Swapped for this module at
 * bundle time, the default chain is the environment alone: the variables
 * Lambda sets for the function's role.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
