import { marshall, unmarshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { awsServiceEndpoint } from './aws-endpoint';
import { operationOf, type DynamoDBDocumentClient, type LeanOperationName } from './dynamo-commands';
import { DynamoJsonTransport } from './dynamo-json-transport';
import { sdkCredentials } from './sdk-credentials';
import { STORE_TIMEOUTS } from './sdk-timeouts';

/*
 * The store client of the Lambda functions: the store adapters' commands
 * (./dynamo-commands) marshalled as lib-dynamodb marshals them and sent by
 * `DynamoJsonTransport`, with no AWS SDK client in the bundle. Tests, local
 * mode and the CLI build the SDK-based `LeanDocumentClient` instead
 * (`createDocumentClient`, ./dynamo-client), which sends the same commands the
 * same way and everything else (tables, TTL) through the SDK.
 */

const MARSHALL_OPTIONS: Readonly<marshallOptions> = Object.freeze({ removeUndefinedValues: true });

type Item = Record<string, unknown>;
type Wire = Record<string, unknown>;

/** How one document command travels: its input to wire form, its output from wire form. */
export interface LeanOperation {
  operation: LeanOperationName;
  toWire(input: Item): Wire;
  fromWire(output: Wire): Item;
}

const toWire = (value: unknown): Wire | undefined => (value === undefined ? undefined : marshall(value as Item, MARSHALL_OPTIONS));
const fromWire = (value: unknown): Item | undefined => (value === undefined ? undefined : unmarshall(value as never));
const listFromWire = (value: unknown): Item[] | undefined => (value as Wire[] | undefined)?.map((item) => unmarshall(item as never));

/** Sets `name` on `object` when `value` is defined (lib-dynamodb leaves undefined members out). */
function withMember(object: Item, name: string, value: unknown): Item {
  if (value !== undefined) object[name] = value;
  return object;
}

function keyed(input: Item, ...names: string[]): Wire {
  const wire: Wire = { ...input };
  for (const name of names) {
    delete wire[name];
    withMember(wire, name, toWire(input[name]));
  }
  return wire;
}

function mapped(output: Wire, ...names: string[]): Item {
  const item: Item = { ...output };
  for (const name of names) {
    delete item[name];
    withMember(item, name, fromWire(output[name]));
  }
  return item;
}

function listed(output: Wire, keyName: string): Item {
  const item = mapped(output, keyName);
  delete item.Items;
  return withMember(item, 'Items', listFromWire(output.Items));
}

function batchGetToWire(input: Item): Wire {
  const requests = (input.RequestItems ?? {}) as Record<string, Item>;
  const wire: Record<string, Wire> = {};
  for (const [table, request] of Object.entries(requests)) {
    wire[table] = withMember({ ...request }, 'Keys', (request.Keys as Item[] | undefined)?.map((key) => toWire(key)));
  }
  return { ...input, RequestItems: wire };
}

function batchGetFromWire(output: Wire): Item {
  const item: Item = { ...output };
  if (output.Responses) {
    item.Responses = Object.fromEntries(Object.entries(output.Responses as Record<string, Wire[]>).map(([table, items]) => [table, listFromWire(items)]));
  }
  if (output.UnprocessedKeys) {
    item.UnprocessedKeys = Object.fromEntries(
      Object.entries(output.UnprocessedKeys as Record<string, Item>).map(([table, request]) => [table, withMember({ ...request }, 'Keys', listFromWire(request.Keys))]),
    );
  }
  return item;
}

/**
 * The commands the store adapters send, by operation, as lib-dynamodb
 * marshals them (the same `marshall`/`unmarshall` of `@aws-sdk/util-dynamodb`,
 * the same `removeUndefinedValues`). Legacy parameters (`LEGACY_PARAMETERS`)
 * are not marshalled here.
 */
export const LEAN_OPERATIONS: ReadonlyMap<LeanOperationName, LeanOperation> = new Map<LeanOperationName, LeanOperation>([
  ['GetItem', { operation: 'GetItem', toWire: (input) => keyed(input, 'Key'), fromWire: (output) => mapped(output, 'Item') }],
  ['PutItem', { operation: 'PutItem', toWire: (input) => keyed(input, 'Item', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  ['UpdateItem', { operation: 'UpdateItem', toWire: (input) => keyed(input, 'Key', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  ['DeleteItem', { operation: 'DeleteItem', toWire: (input) => keyed(input, 'Key', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  ['Query', { operation: 'Query', toWire: (input) => keyed(input, 'ExclusiveStartKey', 'ExpressionAttributeValues'), fromWire: (output) => listed(output, 'LastEvaluatedKey') }],
  ['Scan', { operation: 'Scan', toWire: (input) => keyed(input, 'ExclusiveStartKey', 'ExpressionAttributeValues'), fromWire: (output) => listed(output, 'LastEvaluatedKey') }],
  ['BatchGetItem', { operation: 'BatchGetItem', toWire: batchGetToWire, fromWire: batchGetFromWire }],
]);

/** Parameters lib-dynamodb marshals but the lean path does not: a command carrying one goes to the SDK (or is refused by `StoreClient`). */
export const LEGACY_PARAMETERS = ['Expected', 'AttributeUpdates', 'KeyConditions', 'QueryFilter', 'ScanFilter', 'ReturnItemCollectionMetrics'];

/** Sends one lean command through the transport; resolves to its document-form output with `$metadata`. */
export async function sendLean(transport: DynamoJsonTransport, lean: LeanOperation, input: Item): Promise<Item> {
  const { $metadata, ...output } = await transport.call(lean.operation, lean.toWire(input));
  return Object.assign(lean.fromWire(output), { $metadata });
}

export interface StoreClientOptions {
  /** The store's URL; else `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, or the region's (`dynamoEndpoint`). */
  endpoint?: string;
  region?: string;
  /** Where the credentials and endpoint settings are read. @default process.env */
  env?: Record<string, string | undefined>;
}

/**
 * The Lambda functions' document client: the commands of ./dynamo-commands
 * (Get, Put, Update, Delete, Query, Scan, BatchGet) through
 * `DynamoJsonTransport`, with `STORE_TIMEOUTS` and the environment's
 * credentials, as `LeanDocumentClient` sends them. Any other command, a
 * legacy parameter, or options on `send` are refused: the functions send
 * none, and a silent fallback would put the SDK back into every bundle.
 */
export class StoreClient {
  private readonly transport: DynamoJsonTransport;

  constructor(options: StoreClientOptions = {}) {
    const env = options.env ?? process.env;
    const local = Boolean(options.endpoint);
    const region = options.region ?? env.AWS_REGION ?? (local ? 'local' : undefined);
    const regionProvider = async () => {
      if (!region) throw new Error('Region is missing');
      return region;
    };
    this.transport = new DynamoJsonTransport({
      endpoint: options.endpoint ?? (async () => dynamoEndpoint(await regionProvider(), env)),
      region: regionProvider,
      credentials: sdkCredentials(env, options.endpoint),
      timeouts: STORE_TIMEOUTS,
      maxAttempts: STORE_TIMEOUTS.maxAttempts,
    });
  }

  send(command: { input: object }, ...rest: unknown[]): Promise<Item> {
    const name = operationOf(command);
    const lean = name === undefined ? undefined : LEAN_OPERATIONS.get(name);
    const input = command.input as Item;
    if (!lean || rest.length > 0 || LEGACY_PARAMETERS.some((parameter) => input[parameter] !== undefined)) {
      return Promise.reject(new TypeError('StoreClient sends the commands of ./dynamo-commands only, without legacy parameters or options'));
    }
    return sendLean(this.transport, lean, input);
  }

  destroy(): void {
    this.transport.destroy();
  }
}

/** Builds the Lambda functions' store client, typed as the store adapters take it. */
export function createStoreClient(options: StoreClientOptions = {}): DynamoDBDocumentClient {
  // `StoreClient.send` takes this module's commands, whose types are lib-dynamodb's (./dynamo-commands).
  return new StoreClient(options) as unknown as DynamoDBDocumentClient;
}

/**
 * DynamoDB's endpoint by the SDK's rules with account-ID endpoints disabled
 * (tested against the SDK client's own rules, test/adapters/aws-endpoint.test.ts):
 * the configured `AWS_ENDPOINT_URL_DYNAMODB`/`AWS_ENDPOINT_URL`, else the
 * regional pattern, with DynamoDB's own exceptions: region `local` is
 * `http://localhost:8000`, and FIPS without dual stack in GovCloud is the
 * usual host (DynamoDB's endpoints there are FIPS endpoints).
 */
export function dynamoEndpoint(region: string, env: Record<string, string | undefined> = process.env): string {
  return awsServiceEndpoint({
    envSuffix: 'DYNAMODB',
    hostPrefix: 'dynamodb',
    region,
    env,
    special: ({ region: name, partition, fips, dualStack }) => {
      if (name === 'local') {
        if (fips || dualStack) throw new Error('Invalid Configuration: FIPS and local endpoint are not supported');
        return 'http://localhost:8000';
      }
      if (partition === 'aws-us-gov' && fips && !dualStack) return `https://dynamodb.${name}.amazonaws.com`;
      return undefined;
    },
  });
}
