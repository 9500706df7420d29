/**
 * The CDK constructs Tollgate exports (`tollgate/cdk`), for CommonJS and ESM
 * apps alike. The functions they deploy are prebuilt bundles inside the
 * package: a synth needs no esbuild, no Docker and no Tollgate sources.
 */
export { TollgateService, type TollgateServiceProps } from './tollgate-service';
export { TollgateStack, type TollgateStackProps } from './tollgate-stack';
export { TollgateAuthorizer, type TollgateAuthorizerProps, type TokenSource } from './tollgate-authorizer';
export { deployConfigFromText, loadDeployConfig, type DeployConfig } from '../src/config/deploy-config';
export { ConfigError } from '../src/config/config-error';
export type { TollgateConfigInput } from '../src/config/config';
