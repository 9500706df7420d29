import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { importJWK, jwtVerify, type JWK } from 'jose';

/**
 * The cold-start floor: the smallest handler that does Tollgate's job with
 * Tollgate's two unavoidable dependencies, jose and the DynamoDB document
 * client, built at module scope as the real functions build theirs. Bundled
 * with the stack's esbuild options, its import time and size are what any
 * function using those two libraries pays.
 */
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
// Keys are loaded on first use, as Tollgate's signing key source loads them.
let keyPromise: ReturnType<typeof importJWK> | undefined;

export const handler = async (event: { headers?: Record<string, string | undefined> }) => {
  const token = (event.headers?.authorization ?? '').replace(/^Bearer /, '');
  const { payload } = await jwtVerify(token, await (keyPromise ??= importJWK(JSON.parse(process.env.FLOOR_JWK ?? '{}') as JWK, 'RS256')), { issuer: process.env.FLOOR_ISSUER, audience: 'tollgate' });
  const session = await client.send(new GetCommand({ TableName: process.env.FLOOR_TABLE, Key: { sid: payload.sid } }));
  return { statusCode: session.Item ? 200 : 401, body: '' };
};
