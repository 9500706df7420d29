import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from './dynamo-commands';
import { newWriteId } from '../domain/refresh-token';
import type { ReplayGuard } from '../ports/replay-guard';
import { isConditionFailure, toStoreError } from './dynamo-errors';

/**
 * Single-use markers in the guards table (key `pk`, TTL attribute `ttl`).
 * A marker whose `ttl` has passed counts as absent, so the condition allows
 * overwriting it whatever DynamoDB's TTL deletion lag.
 *
 * Each claim stores a write id of its own: a claim whose answer was lost
 * (the SDK's retry then fails the condition the first attempt made true, or
 * every attempt times out) is recognised as this claim by that id, so a
 * genuine first use is never called a replay of itself.
 */
export class DynamoReplayGuard implements ReplayGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly nowSeconds: () => number,
  ) {}

  async claim(key: string, expiresAt: number): Promise<boolean> {
    const writeId = newWriteId();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, ttl: expiresAt, writeId },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': this.nowSeconds() },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) {
        const returned = (error as { Item?: { writeId?: { S?: string } } }).Item;
        if (returned) return returned.writeId?.S === writeId;
        // A condition failed on the SDK's first attempt: no earlier attempt of ours can hold the marker.
        if ((error as { $metadata?: { attempts?: number } }).$metadata?.attempts === 1) return false;
        return (await this.writeIdOf(key)) === writeId;
      }
      const storeError = toStoreError(error);
      if (storeError === error) throw error;
      // Every attempt lost its answer: look once. Ours if the marker carries our id; otherwise unknown (503).
      const holder = await this.writeIdOf(key).catch(() => {
        throw storeError;
      });
      if (holder === writeId) return true;
      throw storeError;
    }
  }

  /** The write id of the marker under `key` (strongly consistent), if any. */
  private async writeIdOf(key: string): Promise<string | undefined> {
    try {
      const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }))).Item;
      return typeof item?.writeId === 'string' ? item.writeId : undefined;
    } catch (error) {
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
