import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { constructStack } from '@smithy/core/client';
import type { AbsoluteLocation, AwsCredentialIdentityProvider, Handler, HandlerExecutionContext, InitializeHandlerOptions, InitializeMiddleware } from '@smithy/types';
import { DynamoJsonTransport } from './dynamo-json-transport';
import { sdkCredentials } from './sdk-credentials';
import { boundedRequestHandler, STORE_TIMEOUTS } from './sdk-timeouts';

// Re-exported for the store's callers; Secrets Manager clients import them from
// './sdk-timeouts' directly, so a bundle without DynamoDB does not import this module.
export { STORE_TIMEOUTS, boundedRequestHandler } from './sdk-timeouts';

export interface DynamoClientOptions {
  endpoint?: string;
  region?: string;
  /** Where the credentials are read (`sdkCredentials`). @default process.env */
  env?: Record<string, string | undefined>;
  /**
   * `lean` (the default) sends the store adapters' commands through
   * `DynamoJsonTransport`; `sdk` sends every command through the AWS SDK's
   * pipeline (the bench compares the two).
   */
  transport?: 'lean' | 'sdk';
}

/** Builds the document client once, at module scope of the composition root. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const local = Boolean(options.endpoint);
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    credentials: sdkCredentials(options.env ?? process.env, options.endpoint),
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    requestHandler: boundedRequestHandler(),
  });
  if (options.transport === 'sdk') return DynamoDBDocumentClient.from(client, { marshallOptions: { ...MARSHALL_OPTIONS } });
  return new LeanDocumentClient(client, options.endpoint);
}

const MARSHALL_OPTIONS: Readonly<marshallOptions> = Object.freeze({ removeUndefinedValues: true });

type Item = Record<string, unknown>;
type Wire = Record<string, unknown>;

/** How one document command travels: its DynamoDB operation, its input to wire form, its output from wire form. */
interface LeanOperation {
  operation: string;
  toWire(input: Item): Wire;
  fromWire(output: Wire): Item;
}

const toWire = (value: unknown): Wire | undefined => (value === undefined ? undefined : marshall(value as Item, MARSHALL_OPTIONS));
const fromWire = (value: unknown): Item | undefined => (value === undefined ? undefined : unmarshall(value as never));
const listFromWire = (value: unknown): Item[] | undefined => (value as Wire[] | undefined)?.map((item) => unmarshall(item as never));

/** Sets `name` on a copy of `object` when `value` is defined (lib-dynamodb leaves undefined members out). */
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

/**
 * The commands the store adapters send, as lib-dynamodb marshals them (the
 * same `marshall`/`unmarshall` of `@aws-sdk/util-dynamodb`, the same
 * `removeUndefinedValues`). Legacy parameters (`Expected`, `AttributeUpdates`,
 * `KeyConditions`, `QueryFilter`, `ScanFilter`) and item collection metrics go
 * through the SDK instead.
 */
const LEAN_OPERATIONS = new Map<Function, LeanOperation>([
  [GetCommand, { operation: 'GetItem', toWire: (input) => keyed(input, 'Key'), fromWire: (output) => mapped(output, 'Item') }],
  [PutCommand, { operation: 'PutItem', toWire: (input) => keyed(input, 'Item', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  [UpdateCommand, { operation: 'UpdateItem', toWire: (input) => keyed(input, 'Key', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  [DeleteCommand, { operation: 'DeleteItem', toWire: (input) => keyed(input, 'Key', 'ExpressionAttributeValues'), fromWire: (output) => mapped(output, 'Attributes') }],
  [QueryCommand, { operation: 'Query', toWire: (input) => keyed(input, 'ExclusiveStartKey', 'ExpressionAttributeValues'), fromWire: (output) => listed(output, 'LastEvaluatedKey') }],
  [ScanCommand, { operation: 'Scan', toWire: (input) => keyed(input, 'ExclusiveStartKey', 'ExpressionAttributeValues'), fromWire: (output) => listed(output, 'LastEvaluatedKey') }],
  [BatchGetCommand, { operation: 'BatchGetItem', toWire: batchGetToWire, fromWire: batchGetFromWire }],
]);

const LEGACY_PARAMETERS = ['Expected', 'AttributeUpdates', 'KeyConditions', 'QueryFilter', 'ScanFilter', 'ReturnItemCollectionMetrics'];

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
      Object.entries(output.UnprocessedKeys as Record<string, Item>).map(([table, request]) => [
        table,
        withMember({ ...request }, 'Keys', listFromWire(request.Keys)),
      ]),
    );
  }
  return item;
}

/**
 * The document client Tollgate's store adapters are written against, with
 * their commands (`Get`, `Put`, `Update`, `Delete`, `Query`, `Scan`,
 * `BatchGet` of lib-dynamodb) sent through `DynamoJsonTransport` instead of
 * the SDK's pipeline (endpoint rules, middleware stack, user agent, schema
 * serde, the HTTP handler), which measured 2–3 × this path's CPU per call
 * (docs/performance.md, "The DynamoDB client's CPU per call"). Same answers,
 * same errors, same credentials, region, timeouts and retry budget; every
 * other command (tables, TTL, transactions) and every call with options goes
 * through the SDK unchanged.
 *
 * Middleware a caller adds to the stack at the `initialize` step runs around
 * the lean commands too, with the same `commandName` (`GetItemCommand`) and
 * the document-form input.
 */
export class LeanDocumentClient extends DynamoDBDocumentClient {
  private readonly transport: DynamoJsonTransport;
  /** `initialize`-step middleware callers added to the shared stack after construction, by name. */
  private readonly added = new Map<string, { middleware: InitializeMiddleware<object, object>; options: InitializeHandlerOptions & AbsoluteLocation }>();
  private chains = new Map<string, Handler<object, object>>();

  constructor(client: DynamoDBClient, endpoint: string | undefined) {
    // lib-dynamodb writes into the options it is given (`convertTopLevelContainer`): a copy, so ours stay as they are.
    super(client, { marshallOptions: { ...MARSHALL_OPTIONS } });
    const config = client.config;
    this.transport = new DynamoJsonTransport({
      endpoint: endpoint ?? (() => resolveEndpoint(client)),
      region: config.region,
      credentials: config.credentials as AwsCredentialIdentityProvider,
      timeouts: STORE_TIMEOUTS,
      maxAttempts: STORE_TIMEOUTS.maxAttempts,
    });
    this.watchStack();
  }

  // One signature for lib-dynamodb's overloads: the lean path takes the command alone; options and callbacks go to the SDK.
  override send(command: any, ...rest: any[]): any {
    const lean = rest.length === 0 ? LEAN_OPERATIONS.get(command?.constructor) : undefined;
    if (!lean || LEGACY_PARAMETERS.some((name) => command.input?.[name] !== undefined)) return (super.send as (...args: unknown[]) => unknown)(command, ...rest);
    if (this.added.size === 0) return this.sendLean(lean, command.input);
    return this.chainFor(lean)({ input: command.input }).then((result) => (result as { output: unknown }).output);
  }

  override destroy(): void {
    this.transport.destroy();
    super.destroy();
  }

  private async sendLean(lean: LeanOperation, input: Item): Promise<Item> {
    const { $metadata, ...output } = await this.transport.call(lean.operation, lean.toWire(input));
    return Object.assign(lean.fromWire(output), { $metadata });
  }

  /** The callers' middleware around the lean path, built once per operation (and again after the stack changes). */
  private chainFor(lean: LeanOperation): Handler<object, object> {
    let chain = this.chains.get(lean.operation);
    if (!chain) {
      const stack = constructStack<object, object>();
      for (const { middleware, options } of this.added.values()) stack.add(middleware, options);
      const context: HandlerExecutionContext = { clientName: 'DynamoDBClient', commandName: `${lean.operation}Command` };
      const terminal = async (args: { input: object }) => ({ output: await this.sendLean(lean, args.input as Item), response: {} });
      chain = stack.resolve(terminal as never, context) as Handler<object, object>;
      this.chains.set(lean.operation, chain);
    }
    return chain;
  }

  /**
   * Records `initialize`-step middleware added to the shared stack from now on
   * (the SDK's own is all in place): the lean path runs it too. Middleware at
   * later steps concerns the SDK's request and stays with the SDK path.
   */
  private watchStack(): void {
    const stack = this.middlewareStack;
    const add = stack.add.bind(stack);
    const remove = stack.remove.bind(stack);
    stack.add = ((middleware: InitializeMiddleware<object, object>, options: InitializeHandlerOptions & AbsoluteLocation = {} as never) => {
      if ((options.step ?? 'initialize') === 'initialize') {
        this.added.set(options.name ?? `unnamed#${this.added.size}`, { middleware, options });
        this.chains = new Map();
      }
      return add(middleware as never, options as never);
    }) as typeof stack.add;
    stack.remove = ((toRemove: string | object) => {
      if (typeof toRemove === 'string' && this.added.delete(toRemove)) this.chains = new Map();
      return remove(toRemove as never);
    }) as typeof stack.remove;
  }
}

/**
 * The store's endpoint for a client built without one, as the SDK would send
 * to it: `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` when set, else the
 * region's endpoint by the SDK's rules (partition, FIPS and dual-stack
 * settings included). Account-ID endpoints are not used.
 */
export async function resolveEndpoint(client: DynamoDBClient): Promise<string> {
  const config = client.config;
  const configured = await config.serviceConfiguredEndpoint?.();
  if (configured) return configured;
  const endpoint = config.endpointProvider({
    Region: await config.region(),
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
    AccountIdEndpointMode: 'disabled',
  });
  return endpoint.url.href;
}
