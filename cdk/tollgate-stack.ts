import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SESSION_INDEXES } from '../src/adapters/dynamo-session-store';
import { WellKnownPaths } from '../src/handlers/metadata-handler';
import { ApiFunctions } from './api-functions';
import type { DeployConfig } from './deploy-config';
import { Monitoring } from './monitoring';
import { OperatorPolicies } from './operator-policies';
import { SessionTables } from './session-tables';
import { SigningKeys } from './signing-keys';
import { TollgateApi } from './tollgate-api';

export interface TollgateStackProps extends StackProps {
  /** The validated config (see `loadDeployConfig`). */
  deployConfig: DeployConfig;
  /** The repository root, where `src/` and `package-lock.json` are. @default process.cwd() */
  projectRoot?: string;
}

/**
 * Tollgate on AWS. The stack only wires the constructs together: the tables,
 * the signing keys and their rotation, the API, the functions behind it, and
 * the monitoring. Deploy-only settings come from the config's `aws` key.
 */
export class TollgateStack extends Stack {
  readonly tables: SessionTables;
  readonly signingKeys: SigningKeys;
  readonly api: TollgateApi;
  readonly functions: ApiFunctions;
  readonly monitoring: Monitoring;
  /** Managed policies for the `tollgate sessions|keys` admin commands (docs/operations.md). */
  readonly operatorPolicies: OperatorPolicies;

  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    const { config, functionConfigJson, secretIds } = props.deployConfig;
    const projectRoot = props.projectRoot ?? process.cwd();
    const { aws } = config;

    this.tables = new SessionTables(this, 'Tables');
    this.signingKeys = new SigningKeys(this, 'SigningKeys', {
      projectRoot,
      functionConfigJson,
      logRetentionDays: aws.logRetentionDays,
      rotationDays: aws.keyRotationDays,
    });
    this.operatorPolicies = new OperatorPolicies(this, 'OperatorPolicies', { sessions: this.tables.sessions, signingKeysSecret: this.signingKeys.secret });
    this.api = new TollgateApi(this, 'Http', { aws });
    this.functions = new ApiFunctions(this, 'Functions', {
      projectRoot,
      config,
      functionConfigJson,
      publicBaseUrl: this.api.publicBaseUrl,
      tables: this.tables,
      signingKeys: this.signingKeys,
      secretIds,
      logRetentionDays: aws.logRetentionDays,
    });
    this.api.addRoutes(this.functions.functions);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api,
      functions: { ...this.functions.functions, rotation: this.signingKeys.rotation },
      tables: { sessions: this.tables.sessions, guards: this.tables.guards },
      sessionIndexes: Object.values(SESSION_INDEXES),
      proxyRouteIds: config.proxy ? config.proxy.routes.map((route, index) => route.name ?? String(index)) : [],
      alarmEmail: aws.alarmEmail,
    });

    const issuer = config.issuer?.replace(/\/+$/, '') ?? this.api.publicBaseUrl;
    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the API (token, verify, revoke, proxy)', value: this.api.publicBaseUrl });
    new CfnOutput(this, 'Issuer', { description: 'The iss of every access token', value: issuer });
    // The same URLs the metadata document names (both relative to the issuer).
    new CfnOutput(this, 'MetadataUrl', { description: 'Authorization server metadata (see docs/deploy.md on RFC 8414 and the stage path)', value: `${issuer}${WellKnownPaths.metadata}` });
    new CfnOutput(this, 'JwksUrl', { description: 'Public signing keys for verifiers', value: `${issuer}${WellKnownPaths.jwks}` });
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
    if (this.api.domain && !aws.customDomain?.hostedZone) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description: `Point ${aws.customDomain?.domainName} here (CNAME or alias)`,
        value: this.api.domain.domainNameAliasDomainName,
      });
    }
  }
}
