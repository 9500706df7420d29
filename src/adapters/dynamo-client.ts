import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { marshallOptions } from '@aws-sdk/util-dynamodb';
import { constructStack } from '@smithy/core/client';
import type { AbsoluteLocation, AwsCredentialIdentityProvider, Handler, HandlerExecutionContext, InitializeHandlerOptions, InitializeMiddleware } from '@smithy/types';
import { LEAN_OPERATIONS, LEGACY_PARAMETERS, sendLean, type LeanOperation } from './aws-dynamo-client';
import { operationOf, type LeanOperationName } from './dynamo-commands';
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

/**
 * Builds the SDK-based document client of local mode, the CLI, the tests and
 * the bench: the store adapters' commands (./dynamo-commands, or
 * lib-dynamodb's) on the lean path, everything else through the SDK. The
 * Lambda functions build `createStoreClient` (./aws-dynamo-client) instead,
 * which has no SDK client in its bundle.
 */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const local = Boolean(options.endpoint);
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    credentials: sdkCredentials(options.env ?? process.env, options.endpoint),
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    requestHandler: boundedRequestHandler(),
  });
  if (options.transport === 'sdk') return sdkDocumentClient(client);
  return new LeanDocumentClient(client, options.endpoint);
}

const MARSHALL_OPTIONS: Readonly<marshallOptions> = Object.freeze({ removeUndefinedValues: true });

type Item = Record<string, unknown>;

/** lib-dynamodb's command classes and ./dynamo-commands' by operation: both travel the lean path; ours go to the SDK as lib-dynamodb's. */
const SDK_COMMANDS = new Map<LeanOperationName, new (input: never) => object>([
  ['GetItem', GetCommand],
  ['PutItem', PutCommand],
  ['UpdateItem', UpdateCommand],
  ['DeleteItem', DeleteCommand],
  ['Query', QueryCommand],
  ['Scan', ScanCommand],
  ['BatchGetItem', BatchGetCommand],
]);
const SDK_OPERATIONS = new Map<Function, LeanOperationName>([...SDK_COMMANDS].map(([name, Ctor]) => [Ctor, name]));

/** The lean operation of a command of either kind. */
function leanOperationOf(command: unknown): LeanOperation | undefined {
  const name = operationOf(command) ?? SDK_OPERATIONS.get((command as { constructor?: Function } | undefined)?.constructor as Function);
  return name === undefined ? undefined : LEAN_OPERATIONS.get(name);
}

/** A ./dynamo-commands command as lib-dynamodb's, for the SDK's pipeline; any other command as it is. */
function asSdkCommand(command: { input: object }): unknown {
  const name = operationOf(command);
  return name === undefined ? command : new (SDK_COMMANDS.get(name) as new (input: object) => object)(command.input);
}

/**
 * lib-dynamodb's document client over `client` (`removeUndefinedValues`, as
 * the store adapters expect), every command through the SDK's pipeline,
 * ./dynamo-commands' as lib-dynamodb's: the admin CLI's, and the bench's
 * `transport: 'sdk'`.
 */
export function sdkDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return new SdkDocumentClient(client);
}

/** An SDK document client that also sends ./dynamo-commands' commands (as lib-dynamodb's). */
class SdkDocumentClient extends DynamoDBDocumentClient {
  constructor(client: DynamoDBClient) {
    // lib-dynamodb writes into the options it is given (`convertTopLevelContainer`): a copy, so ours stay as they are.
    super(client, { marshallOptions: { ...MARSHALL_OPTIONS } });
  }

  override send(command: any, ...rest: any[]): any {
    return (super.send as (...args: unknown[]) => unknown)(asSdkCommand(command), ...rest);
  }
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
    const lean = rest.length === 0 ? leanOperationOf(command) : undefined;
    if (!lean || LEGACY_PARAMETERS.some((name) => command.input?.[name] !== undefined)) return (super.send as (...args: unknown[]) => unknown)(asSdkCommand(command), ...rest);
    if (this.added.size === 0) return this.sendLean(lean, command.input);
    return this.chainFor(lean)({ input: command.input }).then((result) => (result as { output: unknown }).output);
  }

  override destroy(): void {
    this.transport.destroy();
    super.destroy();
  }

  private sendLean(lean: LeanOperation, input: Item): Promise<Item> {
    return sendLean(this.transport, lean, input);
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
