/** The CDK constructs Tollgate exports for other stacks (`tollgate/cdk`). */
export { TollgateAuthorizer, type TollgateAuthorizerProps } from './tollgate-authorizer';
export { TollgateStack } from './tollgate-stack';
