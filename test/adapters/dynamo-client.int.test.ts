import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConditionalCheckFailedException, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { createDocumentClient, STORE_TIMEOUTS } from '../../src/adapters/dynamo-client';
import { ensureTables } from '../../src/local/tables';
import type { FaultProxy } from '../support/fault-proxy';
import { startFaultyStore, type FaultyStore } from '../support/faulty-store';
import { startTestStore, type TestStore } from '../support/store';

/** Every attempt may take the request timeout; the backoff before the one retry is under 50 ms; the rest is a busy machine's slack. */
const GIVE_UP_BOUND_MS = STORE_TIMEOUTS.maxAttempts * STORE_TIMEOUTS.requestTimeoutMs + 1_000;

/** An answer as a caller sees it, without what differs between two requests (the request id). */
function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner) => (inner instanceof Set ? { set: [...inner] } : key === 'requestId' ? typeof inner : inner)));
}

async function failureOf(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

interface FakeAnswer {
  status: number;
  body?: unknown;
  /** Sends the head and this much of the body, then nothing more. */
  stallAfterHead?: boolean;
}

/** A loopback DynamoDB-protocol fake that answers from a script and records each request's headers and body. */
async function startScriptedStore(script: FakeAnswer[]): Promise<{ endpoint: string; requests: { headers: IncomingMessage['headers']; body: string }[]; close(): Promise<void> }> {
  const requests: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((incoming, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      requests.push({ headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = script[Math.min(requests.length - 1, script.length - 1)]!;
      const text = JSON.stringify(answer.body ?? {});
      outgoing.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${requests.length}`, 'content-length': Buffer.byteLength(text) });
      if (answer.stallAfterHead) outgoing.write(text.slice(0, 3));
      else outgoing.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the lean document client against a DynamoDB-protocol store', () => {
  let store: TestStore;
  let sdk: DynamoDBDocumentClient;
  let lean: DynamoDBDocumentClient;
  const session = { sid: 'sid-1', sub: 'user-1', status: 'active', refreshCount: 0, scopes: new Set(['read', 'write']), claims: { org: 'acme', list: [1, 'two', null] }, ttl: 1_900_000_000, missing: undefined };

  beforeAll(async () => {
    store = await startTestStore();
    sdk = createDocumentClient({ endpoint: store.endpoint, transport: 'sdk' });
    lean = createDocumentClient({ endpoint: store.endpoint });
    await ensureTables(lean, store.tables);
  });
  afterAll(async () => {
    sdk.destroy();
    lean.destroy();
    await store.close();
  });

  it('answers every command the store adapters send exactly as the SDK pipeline does', async () => {
    const table = store.tables.sessions;
    const run = async (client: DynamoDBDocumentClient, sid: string) => [
      await client.send(new PutCommand({ TableName: table, Item: { ...session, sid }, ConditionExpression: 'attribute_not_exists(sid)' })),
      await client.send(new GetCommand({ TableName: table, Key: { sid }, ConsistentRead: true })),
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: { sid },
          UpdateExpression: 'SET refreshCount = refreshCount + :one, claims.org = :org',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':org': 'globex', ':active': 'active' },
          ReturnValues: 'ALL_NEW',
        }),
      ),
      await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'sid = :sid', ExpressionAttributeValues: { ':sid': sid } })),
      (await client.send(new ScanCommand({ TableName: table, FilterExpression: 'sid = :sid', ExpressionAttributeValues: { ':sid': sid } }))).Items,
      await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ sid }, { sid: `${sid}-absent` }], ConsistentRead: true } } })),
      await client.send(new DeleteCommand({ TableName: table, Key: { sid }, ReturnValues: 'ALL_OLD' })),
      await client.send(new GetCommand({ TableName: table, Key: { sid } })),
    ];

    const viaSdk = await run(sdk, 'parity');
    const viaLean = await run(lean, 'parity');

    expect(comparable(viaLean)).toEqual(comparable(viaSdk));
    expect((viaLean[1] as unknown as { Item: { scopes: Set<string> } }).Item.scopes).toEqual(new Set(['read', 'write']));
  });

  it('throws the SDK’s ConditionalCheckFailedException with the stored item in wire form, without a retry', async () => {
    const table = store.tables.sessions;
    await lean.send(new PutCommand({ TableName: table, Item: { sid: 'taken', writeId: 'w-1' } }));
    const put = (client: DynamoDBDocumentClient) =>
      client.send(new PutCommand({ TableName: table, Item: { sid: 'taken' }, ConditionExpression: 'attribute_not_exists(sid)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));

    const [fromLean, fromSdk] = [await failureOf(put(lean)), await failureOf(put(sdk))];

    expect(fromLean).toBeInstanceOf(ConditionalCheckFailedException);
    expect(fromLean).toMatchObject({ name: 'ConditionalCheckFailedException', $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 } });
    expect(fromLean.message).toBe(fromSdk.message);
    expect(fromLean.Item).toEqual(fromSdk.Item);
    if (store.kind === 'dynamodb-local') expect(fromLean.Item).toEqual({ sid: { S: 'taken' }, writeId: { S: 'w-1' } });
  });

  it('names a store error by its code and does not retry a validation error', async () => {
    const failure = await failureOf(lean.send(new GetCommand({ TableName: store.tables.sessions, Key: { notTheKey: 'x' } })));

    expect(failure).toBeInstanceOf(DynamoDBServiceException);
    expect(failure).toMatchObject({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } });
  });

  it('sends the table commands (create, describe, TTL) through the SDK pipeline', async () => {
    await expect(ensureTables(lean, { sessions: `${store.tables.sessions}-more`, guards: `${store.tables.guards}-more` })).resolves.toBeUndefined();
  });

  it('runs middleware a caller adds at the initialize step around its commands, with the operation’s command name', async () => {
    const client = createDocumentClient({ endpoint: store.endpoint });
    const seen: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        seen.push(`${String(context.commandName)} ${String((args.input as { TableName?: string }).TableName)} ${(result.output as { $metadata: { attempts: number } }).$metadata.attempts}`);
        return result;
      },
      { step: 'initialize', name: 'testRecorder' },
    );

    await client.send(new GetCommand({ TableName: store.tables.guards, Key: { pk: 'absent' } }));
    client.middlewareStack.remove('testRecorder');
    await client.send(new GetCommand({ TableName: store.tables.guards, Key: { pk: 'absent' } }));
    client.destroy();

    expect(seen).toEqual([`GetItemCommand ${store.tables.guards} 1`]);
  });
});

describe('the lean document client when the store fails', () => {
  let faulty: FaultyStore;
  let store: TestStore;
  let faults: FaultProxy;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    faulty = await startFaultyStore();
    ({ store, faults, client } = faulty);
  });
  afterEach(() => faulty.heal());
  afterAll(() => faulty.close());

  const get = () => client.send(new GetCommand({ TableName: store.tables.sessions, Key: { sid: 'any' }, ConsistentRead: true }));

  it.each([
    ['hangs', 'hang'],
    ['resets the connection', 'reset'],
    ['refuses connections', 'refuse'],
  ] as const)('gives up after two attempts, within the bound, when the store %s', async (_, mode) => {
    await faults.setMode(mode);
    const before = faults.calls.length;
    const started = performance.now();

    const failure = await failureOf(get());
    const ms = performance.now() - started;

    expect(failure.name).toBe('TimeoutError');
    expect(failure.$metadata).toMatchObject({ attempts: 2 });
    expect(ms).toBeLessThan(GIVE_UP_BOUND_MS);
    if (mode !== 'refuse') expect(faults.calls.length - before).toBe(2);
  });

  it('retries once after a reset and answers from the second attempt', async () => {
    let first = true;
    faults.failWhen(() => {
      const mode = first ? 'reset' : undefined;
      first = false;
      return mode;
    });

    const answer = await get();

    expect(answer.$metadata.attempts).toBe(2);
  });

  it('recovers by itself once the store is back', async () => {
    await faults.setMode('refuse');
    await failureOf(get());
    await faults.setMode('up');

    await expect(get()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200, attempts: 1 } });
  });
});

describe('the lean document client against scripted answers', () => {
  const get = (client: DynamoDBDocumentClient) => client.send(new GetCommand({ TableName: 'sessions', Key: { sid: 's-1' } }));
  const serverError = { status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' } };
  const throttled = { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' } };
  const found = { status: 200, body: { Item: { sid: { S: 's-1' }, refreshCount: { N: '3' } } } };

  it.each([
    ['a 500', serverError],
    ['throttling', throttled],
  ])('retries after %s and returns the second answer with its attempts', async (_, failure) => {
    const fake = await startScriptedStore([failure, found]);
    const client = createDocumentClient({ endpoint: fake.endpoint });

    const answer = await get(client);
    client.destroy();
    await fake.close();

    expect(answer.Item).toEqual({ sid: 's-1', refreshCount: 3 });
    expect(answer.$metadata).toMatchObject({ httpStatusCode: 200, requestId: 'req-2', attempts: 2 });
    expect(fake.requests).toHaveLength(2);
  });

  it('gives up with the last error, its class and fault, after two 500s', async () => {
    const fake = await startScriptedStore([serverError]);
    const client = createDocumentClient({ endpoint: fake.endpoint });

    const failure = await failureOf(get(client));
    client.destroy();
    await fake.close();

    expect(failure).toBeInstanceOf(DynamoDBServiceException);
    expect(failure).toMatchObject({ name: 'InternalServerError', $fault: 'server', message: 'Internal server error', $metadata: { httpStatusCode: 500, requestId: 'req-2', attempts: 2 } });
  });

  it('times out an answer whose body stops after its head (the SDK would wait for the socket timeout)', async () => {
    const fake = await startScriptedStore([{ ...found, stallAfterHead: true }]);
    const client = createDocumentClient({ endpoint: fake.endpoint });
    const started = performance.now();

    const failure = await failureOf(get(client));
    const ms = performance.now() - started;
    client.destroy();
    await fake.close();

    expect(failure).toMatchObject({ name: 'TimeoutError', $metadata: { attempts: 2 } });
    expect(ms).toBeLessThan(GIVE_UP_BOUND_MS);
  });

  it('signs each request with SigV4 for dynamodb in its region, as a verifier with the same key computes it', async () => {
    const fake = await startScriptedStore([found]);
    // No keys in `env`: the placeholder credentials a local endpoint gets, whatever the shell holds.
    const client = createDocumentClient({ endpoint: fake.endpoint, region: 'eu-west-1', env: {} });

    await get(client);
    client.destroy();
    await fake.close();

    const [request] = fake.requests;
    const { authorization, ...headers } = request!.headers as Record<string, string>;
    expect(headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/);
    const verifier = new SignatureV4({ credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, region: 'eu-west-1', service: 'dynamodb', sha256: Sha256, applyChecksum: false });
    const url = new URL(fake.endpoint);
    const signedHeaders = authorization!.match(/SignedHeaders=([^,]+)/)![1]!.split(';');
    const expected = await verifier.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        query: {},
        headers: Object.fromEntries(signedHeaders.filter((name) => name !== 'x-amz-date').map((name) => [name, headers[name]!])),
        body: request!.body,
      },
      { signingDate: new Date(headers['x-amz-date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) },
    );
    expect(authorization).toBe(expected.headers.authorization);
  });
});
