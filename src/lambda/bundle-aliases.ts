/**
 * Module substitutions for every Lambda bundle, as esbuild's `alias` option
 * (paths relative to the repository root, where the asset build runs). Not
 * imported by any function: the asset build (`scripts/build-assets.ts`) and
 * the bench's bundle tools read it, so what ships and what is measured are
 * built alike.
 *
 * - `@aws-sdk/credential-provider-node` → `./env-credentials`: the default
 *   credential chain becomes the environment alone (Lambda's role credentials),
 *   dropping SSO, INI, process, web identity, container and instance metadata
 *   providers and the STS/SSO clients they carry (about 140 KB of each bundle).
 */
export const LAMBDA_BUNDLE_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': './src/lambda/env-credentials.ts',
};
