import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { StoreRequestCounter } from '../../bench/store-request-counter';
import { startTestStore, type TestStore } from '../support/store';

describe('StoreRequestCounter', () => {
  let store: TestStore;
  let client: DynamoDBDocumentClient;
  let counter: StoreRequestCounter;
  const table = () => store.tables.guards;

  beforeAll(async () => {
    store = await startTestStore();
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await admin.send(
      new CreateTableCommand({
        TableName: table(),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    admin.destroy();
    client = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
    counter = new StoreRequestCounter(client);
  });

  afterAll(async () => {
    client.destroy();
    await store.close();
  });

  it('counts the requests made inside a tally by operation, purpose, condition and consistency', async () => {
    // Prepare
    await client.send(new PutCommand({ TableName: table(), Item: { pk: 'subject#github#1' } }));

    // Act
    const { tally } = await counter.tally(async () => {
      await client.send(new PutCommand({ TableName: table(), Item: { pk: 'subject#github#2' }, ConditionExpression: 'attribute_not_exists(pk)' }));
      await client
        .send(new PutCommand({ TableName: table(), Item: { pk: 'subject#github#2' }, ConditionExpression: 'attribute_not_exists(pk)' }))
        .catch(() => undefined);
      await client.send(new GetCommand({ TableName: table(), Key: { pk: 'subject#github#1' }, ConsistentRead: true }));
      await client.send(
        new UpdateCommand({
          TableName: table(),
          Key: { pk: 'rl#abc#1' },
          UpdateExpression: 'ADD #count :one',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    });

    // Assess
    expect(tally).toMatchObject({ reads: 1, consistentReads: 1, writes: 3, conditionalWrites: 2, rateLimitWrites: 1, rateLimitReads: 0, roundTrips: 4 });
    expect(tally.byOperation).toEqual([
      { operation: 'UpdateItem', table: table(), purpose: 'rate-limit', kind: 'write', requests: 1, conditional: 0, consistent: 0, failed: 0 },
      { operation: 'GetItem', table: table(), purpose: 'replay', kind: 'read', requests: 1, conditional: 0, consistent: 1, failed: 0 },
      { operation: 'PutItem', table: table(), purpose: 'replay', kind: 'write', requests: 2, conditional: 2, consistent: 0, failed: 1 },
    ]);
  });

  it('counts requests sent together as one round trip', async () => {
    const { tally } = await counter.tally(() =>
      Promise.all([
        client.send(new GetCommand({ TableName: table(), Key: { pk: 'a' } })),
        client.send(new GetCommand({ TableName: table(), Key: { pk: 'b' } })),
      ]),
    );

    expect(tally).toMatchObject({ reads: 2, roundTrips: 1 });
  });
});
