import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { SESSION_INDEXES } from '../src/contract/tables';

/** The TTL attribute of both tables (epoch seconds; the code treats expired items as absent whatever the deletion lag). */
export const TTL_ATTRIBUTE = 'ttl';

/**
 * The context key that limits which of the admin CLI's indexes (`byTrust`,
 * `byRepository`) the sessions table gets: CloudFormation creates at most one
 * GSI per table update ("Cannot perform more than one GSI creation or deletion
 * in a single update", aws/aws-cdk#12246), so a stack deployed before them is
 * upgraded in two deploys: `cdk deploy -c tollgate:adminIndexes=byTrust`, then
 * a plain `cdk deploy` (docs/operations.md). Unset: both.
 */
export const ADMIN_INDEXES_CONTEXT = 'tollgate:adminIndexes';

/**
 * Tollgate's state: `sessions` (key `sid`; GSIs `bySubject` on `sub`,
 * `byUpstreamSid` on `upstreamSid`, and for the admin CLI `byTrust` on
 * `trust` + `sidCreatedAt` and `byRepository` on `repository` +
 * `sidCreatedAt`, all keys only) and `guards` (key `pk`: single-use markers
 * and rate-limit counters). The same schema as `src/local/tables.ts` creates
 * locally.
 *
 * The indexes project keys only: a refresh rewrites the item's hashes and
 * counters, which are in no index, so refreshes cost no index writes; the CLI
 * reads the items it finds with BatchGetItem.
 *
 * Both are on-demand, with point-in-time recovery, deletion protection and
 * `RemovalPolicy.RETAIN`: deleting the stack never deletes a session.
 * Encrypted at rest with DynamoDB's default (AWS owned) key: items hold
 * hashes of refresh tokens, never a token.
 * No physical names (CloudFormation names them), and the construct ids below
 * must never change: a new id is a new, empty table.
 */
export class SessionTables extends Construct {
  readonly sessions: Table;
  readonly guards: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.sessions = new Table(this, 'Sessions', { ...common, partitionKey: { name: 'sid', type: AttributeType.STRING } });
    this.sessions.addGlobalSecondaryIndex({
      indexName: SESSION_INDEXES.bySubject,
      partitionKey: { name: 'sub', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.sessions.addGlobalSecondaryIndex({
      indexName: SESSION_INDEXES.byUpstreamSid,
      partitionKey: { name: 'upstreamSid', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    const adminIndexes = this.node.tryGetContext(ADMIN_INDEXES_CONTEXT) as string | undefined;
    this.sessions.addGlobalSecondaryIndex({
      indexName: SESSION_INDEXES.byTrust,
      partitionKey: { name: 'trust', type: AttributeType.STRING },
      sortKey: { name: 'sidCreatedAt', type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    if (adminIndexes !== SESSION_INDEXES.byTrust) {
      this.sessions.addGlobalSecondaryIndex({
        indexName: SESSION_INDEXES.byRepository,
        partitionKey: { name: 'repository', type: AttributeType.STRING },
        sortKey: { name: 'sidCreatedAt', type: AttributeType.NUMBER },
        projectionType: ProjectionType.KEYS_ONLY,
      });
    }
    this.guards = new Table(this, 'Guards', { ...common, partitionKey: { name: 'pk', type: AttributeType.STRING } });
  }
}
