import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Store timeouts and retry budget, chosen so a dead or hanging store turns into
 * a 503 within about 3 s (well inside API Gateway's 29 s and the functions'
 * timeouts) instead of the SDK's default of retrying for much longer:
 * connect 1 s, each request 1.2 s, 2 attempts in all.
 */
export const STORE_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 1_200, maxAttempts: 2 } as const;

export interface DynamoClientOptions {
  endpoint?: string;
  region?: string;
}

/** Builds the document client once, at module scope of the composition root. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const local = Boolean(options.endpoint);
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // Local stores accept any credentials; never let the SDK go looking for real ones there.
    credentials: local && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: STORE_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: STORE_TIMEOUTS.requestTimeoutMs,
    }),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
