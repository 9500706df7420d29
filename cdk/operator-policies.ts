import { Aws, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SESSION_INDEXES } from '../src/contract/tables';
import { METRICS_NAMESPACE } from './tollgate-function';

export interface OperatorPoliciesProps {
  sessions: ITable;
  signingKeysSecret: ISecret;
}

/**
 * Least-privilege managed policies for the `tollgate` admin commands
 * (docs/operations.md), to attach to the operators' roles:
 *
 * - `sessionsRead` — `sessions list|show`: find the stack's outputs, query
 *   the sessions table's indexes, read and scan its items.
 * - `sessionsRevoke` — `sessions revoke`, on top of `sessionsRead`: update
 *   session items (end them, record who and why) and publish the
 *   `SessionRevoked` metric in the `Tollgate` namespace only.
 * - `keys` — `keys list|rotate`: describe and read the signing key secret
 *   (its value holds the private keys; the CLI prints only key ids, algorithms
 *   and dates) and start its rotation.
 *
 * STS `GetCallerIdentity`, which names the caller on a revocation, needs no
 * permission. The guards table is never touched.
 */
export class OperatorPolicies extends Construct {
  readonly sessionsRead: ManagedPolicy;
  readonly sessionsRevoke: ManagedPolicy;
  readonly keys: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPoliciesProps) {
    super(scope, id);
    const { sessions, signingKeysSecret } = props;
    const describeStack = new PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [Aws.STACK_ID] });

    this.sessionsRead = new ManagedPolicy(this, 'SessionsRead', {
      description: 'Tollgate admin CLI: tollgate sessions list and show (read-only)',
      statements: [
        describeStack,
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: Object.values(SESSION_INDEXES).map((index) => `${sessions.tableArn}/index/${index}`),
        }),
        new PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Scan'], resources: [sessions.tableArn] }),
      ],
    });

    this.sessionsRevoke = new ManagedPolicy(this, 'SessionsRevoke', {
      description: 'Tollgate admin CLI: tollgate sessions revoke (with the SessionsRead policy)',
      statements: [
        new PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [sessions.tableArn] }),
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['cloudwatch:PutMetricData'],
          // PutMetricData has no resource type; the condition keeps it to Tollgate's namespace.
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
        }),
      ],
    });
    Validations.of(this.sessionsRevoke).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:PutMetricData supports no resource-level permission; the statement is limited to the Tollgate namespace by the cloudwatch:namespace condition.',
    });

    this.keys = new ManagedPolicy(this, 'Keys', {
      description: 'Tollgate admin CLI: tollgate keys list and rotate',
      statements: [
        describeStack,
        new PolicyStatement({
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'],
          resources: [signingKeysSecret.secretArn],
        }),
      ],
    });
  }
}
