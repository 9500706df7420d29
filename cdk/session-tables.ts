import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { SESSION_INDEXES } from '../src/adapters/dynamo-session-store';

/** The TTL attribute of both tables (epoch seconds; the code treats expired items as absent whatever the deletion lag). */
export const TTL_ATTRIBUTE = 'ttl';

/**
 * Tollgate's state: `sessions` (key `sid`; GSIs `bySubject` on `sub` and
 * `byUpstreamSid` on `upstreamSid`, keys only) and `guards` (key `pk`:
 * single-use markers and rate-limit counters). The same schema as
 * `src/local/tables.ts` creates locally.
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
    this.guards = new Table(this, 'Guards', { ...common, partitionKey: { name: 'pk', type: AttributeType.STRING } });
  }
}
