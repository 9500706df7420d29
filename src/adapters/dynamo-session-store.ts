import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Session, SessionEndReason } from '../domain/session';
import type { RefreshRotation, SessionStore } from '../ports/session-store';
import { isConditionFailure, toStoreError } from './dynamo-errors';
import { sessionIndexAttributes } from './session-index-attributes';

/**
 * GSI names; the CDK table construct creates them with the same names.
 * `byTrust` (`trust`, `sidCreatedAt`) and `byRepository` (`repository`,
 * `sidCreatedAt`) serve the admin CLI's `tollgate sessions` filters.
 */
export const SESSION_INDEXES = { bySubject: 'bySubject', byUpstreamSid: 'byUpstreamSid', byTrust: 'byTrust', byRepository: 'byRepository' } as const;

/**
 * Sessions in one DynamoDB table keyed by `sid`, with TTL attribute `ttl`.
 * `status`, `ttl` and friends are reserved words: every expression names them.
 */
export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly nowSeconds: () => number,
  ) {}

  async create(session: Session): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Index keys copied from nested facts ride along (`sessionIndexAttributes`); the services never read them.
          Item: { ...session, ...sessionIndexAttributes(session) },
          ConditionExpression: 'attribute_not_exists(sid)',
        }),
      );
    } catch (error) {
      // The SDK retried a write whose answer was lost: the item it finds is our own (sids are 128 random bits).
      if (isConditionFailure(error) && (await this.landed(session.sid, (item) => item.refreshHash === session.refreshHash))) return;
      throw toStoreError(error);
    }
  }

  async get(sid: string, options: { consistent?: boolean } = {}): Promise<Session | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const result = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { sid }, ConsistentRead: options.consistent ?? false }),
      );
      item = result.Item;
    } catch (error) {
      throw toStoreError(error);
    }
    if (!item) return undefined;
    const session = item as unknown as Session;
    // Expired items are absent, whatever the TTL deletion lag.
    if (typeof session.ttl === 'number' && session.ttl <= this.nowSeconds()) return undefined;
    return { ...session, usedHashes: session.usedHashes ?? [], context: session.context ?? {} };
  }

  async rotate(rotation: RefreshRotation): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid: rotation.sid },
          UpdateExpression:
            'SET refreshHash = :hash, prevRefreshHash = :prev, rotatedAt = :at, idleExpiry = :idle, usedHashes = :used, refreshCount = refreshCount + :one',
          ConditionExpression: 'refreshHash = :expectedHash AND refreshCount = :expectedCount AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':hash': rotation.refreshHash,
            ':prev': rotation.prevRefreshHash,
            ':at': rotation.rotatedAt,
            ':idle': rotation.idleExpiry,
            ':used': rotation.usedHashes,
            ':one': 1,
            ':expectedHash': rotation.expectedRefreshHash,
            ':expectedCount': rotation.expectedRefreshCount,
            ':active': 'active',
          },
        }),
      );
      return true;
    } catch (error) {
      // Another refresh won, unless the condition failed on our own write, applied by an attempt whose answer was lost.
      if (isConditionFailure(error)) return this.landed(rotation.sid, (item) => item.refreshHash === rotation.refreshHash);
      throw toStoreError(error);
    }
  }

  async end(sid: string, reason: SessionEndReason, now: number): Promise<boolean> {
    const status = reason === 'absolute' || reason === 'idle' || reason === 'max_refreshes' ? 'ended' : 'revoked';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid },
          UpdateExpression: 'SET #status = :status, endReason = :reason, endedAt = :now',
          ConditionExpression: 'attribute_exists(sid) AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ':reason': reason, ':now': now, ':active': 'active' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) {
        return this.landed(sid, (item) => item.status === status && item.endReason === reason && item.endedAt === now);
      }
      throw toStoreError(error);
    }
  }

  /**
   * After a conditional write failed its condition: whether the item already
   * holds this very write. The SDK retries a write whose answer was lost (a
   * timeout or reset after the store applied it), and the retry then fails the
   * condition the first attempt made false. Without this check a lost answer
   * would leave a session no client holds, or a rotated refresh token the
   * client never received (its retry would then look like reuse).
   */
  private async landed(sid: string, isOurs: (item: Session) => boolean): Promise<boolean> {
    let item: Record<string, unknown> | undefined;
    try {
      item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { sid }, ConsistentRead: true }))).Item;
    } catch (error) {
      throw toStoreError(error);
    }
    return item !== undefined && isOurs(item as unknown as Session);
  }

  findByUpstreamSid(upstreamSid: string): Promise<string[]> {
    return this.queryIndex(SESSION_INDEXES.byUpstreamSid, 'upstreamSid', upstreamSid);
  }

  findBySubject(sub: string): Promise<string[]> {
    return this.queryIndex(SESSION_INDEXES.bySubject, 'sub', sub);
  }

  private async queryIndex(indexName: string, attribute: string, value: string): Promise<string[]> {
    const sids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: indexName,
            KeyConditionExpression: '#k = :v',
            ExpressionAttributeNames: { '#k': attribute },
            ExpressionAttributeValues: { ':v': value },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) sids.push(String(item.sid));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw toStoreError(error);
    }
    return sids;
  }
}
