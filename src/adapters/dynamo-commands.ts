import type {
  BatchGetCommand as SdkBatchGetCommand,
  DeleteCommand as SdkDeleteCommand,
  DynamoDBDocumentClient as SdkDocumentClient,
  GetCommand as SdkGetCommand,
  PutCommand as SdkPutCommand,
  QueryCommand as SdkQueryCommand,
  ScanCommand as SdkScanCommand,
  UpdateCommand as SdkUpdateCommand,
} from '@aws-sdk/lib-dynamodb';

export type { BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';

/*
 * The document commands the store adapters send, with lib-dynamodb's names
 * and shape (`new GetCommand(input)`, `command.input`), without lib-dynamodb:
 * importing its command classes brought `@aws-sdk/client-dynamodb` and the
 * SDK's runtime into every Lambda bundle. Each class carries its DynamoDB
 * operation (`GetCommand.operation === 'GetItem'`); `StoreClient`
 * (./aws-dynamo-client) sends them, and so does the SDK-based client of
 * `createDocumentClient` (./dynamo-client: tests, local mode, the CLI).
 *
 * Typed as lib-dynamodb's classes (type-only imports: nothing of lib-dynamodb
 * is bundled), so `client.send(new GetCommand(…))` infers the same output
 * types as before. An instance has `input` only: anything but a document
 * client of ours reading more of it (`middlewareStack`) is a mistake.
 */

/** The DynamoDB operation of one of this module's commands, or undefined for any other object. */
export function operationOf(command: unknown): LeanOperationName | undefined {
  return (command as { constructor?: { operation?: LeanOperationName } } | undefined)?.constructor?.operation;
}

export type LeanOperationName = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'Scan' | 'BatchGetItem';

function command(operation: LeanOperationName) {
  return class {
    static readonly operation = operation;
    constructor(readonly input: object) {}
  };
}

export const GetCommand = command('GetItem') as unknown as typeof SdkGetCommand;
export const PutCommand = command('PutItem') as unknown as typeof SdkPutCommand;
export const UpdateCommand = command('UpdateItem') as unknown as typeof SdkUpdateCommand;
export const DeleteCommand = command('DeleteItem') as unknown as typeof SdkDeleteCommand;
export const QueryCommand = command('Query') as unknown as typeof SdkQueryCommand;
export const ScanCommand = command('Scan') as unknown as typeof SdkScanCommand;
export const BatchGetCommand = command('BatchGetItem') as unknown as typeof SdkBatchGetCommand;

/**
 * What the store adapters need of a document client: `send` and `destroy`,
 * typed as lib-dynamodb's (an SDK document client is one; so is `StoreClient`).
 */
export type DynamoDBDocumentClient = Pick<SdkDocumentClient, 'send' | 'destroy'>;
