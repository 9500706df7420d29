import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESSION_INDEXES } from '../contract/tables';

/**
 * Creates Tollgate's two tables on a local store (dynalite, DynamoDB Local)
 * with the same keys, indexes and TTL attribute the CDK stack deploys. Pass
 * the client the services use (a document client is fine): DynamoDB Local
 * keeps one database per access key and region, so tables created with other
 * credentials or another region are not where the services look.
 */
export async function ensureTables(client: DynamoDBClient | DynamoDBDocumentClient, names: { sessions: string; guards: string }): Promise<void> {
  // A document client sends the low-level table commands unchanged (it shares its DynamoDB client's config and stack).
  await ensureTablesWith(client as DynamoDBClient, names);
}

async function ensureTablesWith(client: DynamoDBClient, names: { sessions: string; guards: string }): Promise<void> {
  await ensureTable(client, {
    TableName: names.sessions,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'sid', AttributeType: 'S' },
      { AttributeName: 'sub', AttributeType: 'S' },
      { AttributeName: 'upstreamSid', AttributeType: 'S' },
      { AttributeName: 'trust', AttributeType: 'S' },
      { AttributeName: 'repository', AttributeType: 'S' },
      { AttributeName: 'sidCreatedAt', AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: 'sid', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      { IndexName: SESSION_INDEXES.bySubject, KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      {
        IndexName: SESSION_INDEXES.byUpstreamSid,
        KeySchema: [{ AttributeName: 'upstreamSid', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: SESSION_INDEXES.byTrust,
        KeySchema: [
          { AttributeName: 'trust', KeyType: 'HASH' },
          { AttributeName: 'sidCreatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: SESSION_INDEXES.byRepository,
        KeySchema: [
          { AttributeName: 'repository', KeyType: 'HASH' },
          { AttributeName: 'sidCreatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  });
  await ensureTable(client, {
    TableName: names.guards,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });
}

async function ensureTable(client: DynamoDBClient, input: ConstructorParameters<typeof CreateTableCommand>[0]): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(input));
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: input.TableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }),
    );
  } catch (error) {
    // dynalite has no TTL API; Tollgate never depends on TTL deletion (expired items count as absent).
    const name = (error as { name?: string }).name ?? '';
    if (!/UnknownOperation/.test(name)) throw error;
  }
}
