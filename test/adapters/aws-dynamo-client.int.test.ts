import { ConditionalCheckFailedException, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { createStoreClient, dynamoEndpoint } from '../../src/adapters/aws-dynamo-client';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '../../src/adapters/dynamo-commands';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { ensureTables } from '../../src/local/tables';
import { startTestStore, type TestStore } from '../support/store';

/** An answer as a caller sees it, without what differs between two requests (the request id). */
function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner) => (inner instanceof Set ? { set: [...inner] } : key === 'requestId' ? typeof inner : inner)));
}

describe('the Lambda functions’ store client (no SDK client) against a DynamoDB-protocol store', () => {
  let store: TestStore;
  let sdk: ReturnType<typeof createDocumentClient>;
  let lean: DynamoDBDocumentClient;
  const session = { sid: 'sid-1', sub: 'user-1', status: 'active', refreshCount: 0, scopes: new Set(['read', 'write']), claims: { org: 'acme' }, ttl: 1_900_000_000, missing: undefined };

  beforeAll(async () => {
    store = await startTestStore();
    sdk = createDocumentClient({ endpoint: store.endpoint, transport: 'sdk' });
    lean = createStoreClient({ endpoint: store.endpoint, env: {} });
    await ensureTables(sdk, store.tables);
  });
  afterAll(async () => {
    sdk.destroy();
    lean.destroy();
    await store.close();
  });

  it('answers the store adapters’ commands exactly as the SDK pipeline does', async () => {
    const table = store.tables.sessions;
    const run = async (client: DynamoDBDocumentClient, sid: string) => [
      await client.send(new PutCommand({ TableName: table, Item: { ...session, sid }, ConditionExpression: 'attribute_not_exists(sid)' })),
      await client.send(new GetCommand({ TableName: table, Key: { sid }, ConsistentRead: true })),
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: { sid },
          UpdateExpression: 'SET refreshCount = refreshCount + :one',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':active': 'active' },
          ReturnValues: 'ALL_NEW',
        }),
      ),
      await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'sid = :sid', ExpressionAttributeValues: { ':sid': sid } })),
      (await client.send(new ScanCommand({ TableName: table, FilterExpression: 'sid = :sid', ExpressionAttributeValues: { ':sid': sid } }))).Items,
      await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ sid }, { sid: `${sid}-absent` }], ConsistentRead: true } } })),
      await client.send(new DeleteCommand({ TableName: table, Key: { sid }, ReturnValues: 'ALL_OLD' })),
    ];

    const viaSdk = await run(sdk, 'store-client-parity');
    const viaLean = await run(lean, 'store-client-parity');

    expect(comparable(viaLean)).toEqual(comparable(viaSdk));
  });

  it('throws the SDK’s ConditionalCheckFailedException for a failed condition', async () => {
    const table = store.tables.sessions;
    await lean.send(new PutCommand({ TableName: table, Item: { sid: 'store-client-taken' } }));

    const failure = await lean.send(new PutCommand({ TableName: table, Item: { sid: 'store-client-taken' }, ConditionExpression: 'attribute_not_exists(sid)' })).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    expect(failure).toMatchObject({ name: 'ConditionalCheckFailedException', $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } });
  });

  it('refuses a command that is not one of the store adapters’, rather than reaching for the SDK', async () => {
    const foreign = new CreateTableCommand({ TableName: 'x', AttributeDefinitions: [], KeySchema: [] });

    await expect((lean.send as (command: unknown) => Promise<unknown>)(foreign)).rejects.toThrow(TypeError);
  });
});

describe('dynamoEndpoint', () => {
  it('is the configured endpoint when there is one, else the region’s', () => {
    expect(dynamoEndpoint('eu-west-1', { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' })).toBe('http://127.0.0.1:8000');
    expect(dynamoEndpoint('eu-west-1', {})).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(dynamoEndpoint('local', {})).toBe('http://localhost:8000');
  });
});
