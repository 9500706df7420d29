import { BatchGetCommand, DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReplayGuard } from '../ports/replay-guard';
import { isConditionFailure, toStoreError } from './dynamo-errors';

/**
 * Single-use markers in the guards table (key `pk`, TTL attribute `ttl`).
 * A marker whose `ttl` has passed counts as absent, so the condition allows
 * overwriting it whatever DynamoDB's TTL deletion lag.
 */
export class DynamoReplayGuard implements ReplayGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly nowSeconds: () => number,
  ) {}

  async claim(key: string, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, ttl: expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': this.nowSeconds() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw toStoreError(error);
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: key } }));
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async hasAny(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    let items: Record<string, unknown>[];
    try {
      const result = await this.client.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: { Keys: [...new Set(keys)].map((pk) => ({ pk })), ConsistentRead: true, ProjectionExpression: 'pk, #ttl', ExpressionAttributeNames: { '#ttl': 'ttl' } },
          },
        }),
      );
      // Unprocessed keys (throttling) are unknown, not absent: fail closed as unavailable.
      if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) throw new Error('unprocessed keys');
      items = result.Responses?.[this.tableName] ?? [];
    } catch (error) {
      throw toStoreError(error);
    }
    const now = this.nowSeconds();
    return items.some((item) => typeof item.ttl !== 'number' || item.ttl > now);
  }
}
