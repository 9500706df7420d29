import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
}
