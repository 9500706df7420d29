import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
