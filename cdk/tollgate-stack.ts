import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { ApiFunctions } from './api-functions';
import type { Monitoring } from './monitoring';
import type { OperatorPolicies } from './operator-policies';
import type { SessionTables } from './session-tables';
import type { SigningKeys } from './signing-keys';
import type { TollgateApi } from './tollgate-api';
import { TollgateService, type TollgateServiceProps } from './tollgate-service';

export interface TollgateStackProps extends StackProps, TollgateServiceProps {}

/**
 * Tollgate on AWS as a stack of its own: `TollgateService` and the stack
 * outputs operators and clients need. This is what `bin/tollgate.ts` (this
 * repository's `cdk deploy`) synthesizes, from the same prebuilt assets the
 * package ships.
 *
 * The service is placed with the id `Default`, which CDK leaves out of
 * logical ids: every resource keeps the logical id it had when the stack
 * built the constructs itself (tables are never replaced).
 */
export class TollgateStack extends Stack {
  readonly service: TollgateService;
  readonly tables: SessionTables;
  readonly signingKeys: SigningKeys;
  readonly api: TollgateApi;
  readonly functions: ApiFunctions;
  readonly monitoring: Monitoring;
  /** Managed policies for the `tollgate sessions|keys` admin commands (docs/operations.md). */
  readonly operatorPolicies: OperatorPolicies;

  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    const { configFile, config, deployConfig, assetsDirectory } = props;
    const service = new TollgateService(this, 'Default', { configFile, config, deployConfig, assetsDirectory });
    this.service = service;
    ({ tables: this.tables, signingKeys: this.signingKeys, api: this.api, functions: this.functions, monitoring: this.monitoring, operatorPolicies: this.operatorPolicies } =
      service);
    const customDomain = service.deployConfig.config.aws.customDomain;

    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the API (token, verify, revoke, proxy)', value: service.apiUrl });
    new CfnOutput(this, 'Issuer', { description: 'The iss of every access token', value: service.issuer });
    new CfnOutput(this, 'MetadataUrl', { description: 'Authorization server metadata (see docs/deploy.md on RFC 8414 and the stage path)', value: service.metadataUrl });
    new CfnOutput(this, 'JwksUrl', { description: 'Public signing keys for verifiers', value: service.jwksUrl });
    new CfnOutput(this, 'SessionsTableName', { value: this.tables.sessions.tableName });
    new CfnOutput(this, 'GuardsTableName', { value: this.tables.guards.tableName });
    new CfnOutput(this, 'SigningKeysSecretArn', { value: this.signingKeys.secret.secretArn });
    new CfnOutput(this, 'OperatorSessionsReadPolicyArn', { description: 'Managed policy for tollgate sessions list/show', value: this.operatorPolicies.sessionsRead.managedPolicyArn });
    new CfnOutput(this, 'OperatorSessionsRevokePolicyArn', { description: 'Managed policy for tollgate sessions revoke (with the read policy)', value: this.operatorPolicies.sessionsRevoke.managedPolicyArn });
    new CfnOutput(this, 'OperatorKeysPolicyArn', { description: 'Managed policy for tollgate keys list/rotate', value: this.operatorPolicies.keys.managedPolicyArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
    });
    if (this.api.domain && !customDomain?.hostedZone) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description: `Point ${customDomain?.domainName} here (CNAME or alias)`,
        value: this.api.domain.domainNameAliasDomainName,
      });
    }
  }
}
