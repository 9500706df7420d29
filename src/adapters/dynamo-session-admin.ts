import { BatchGetCommand, GetCommand, type BatchGetCommandOutput, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from './dynamo-commands';
import { MissingIndexError, type AdminRevocation, type AdminSession, type SessionQueryPlan } from '../domain/session-filter';
import type { SessionDirectory, SessionPage } from '../ports/session-directory';
import { isConditionFailure, toStoreError } from './dynamo-errors';
import { SESSION_INDEXES } from '../contract/tables';

/** Items per Query/Scan page and keys per BatchGetItem (DynamoDB's own maximum). */
export const ADMIN_PAGE_SIZE = 100;

/** Rounds of BatchGetItem for keys the store left unprocessed (throttling) before giving up. */
const MAX_UNPROCESSED_ROUNDS = 8;

/**
 * The admin CLI's reads and its one write on the sessions table. Index
 * queries page through keys-only GSIs and read the items with BatchGetItem;
 * a scan reads the table in pages of `ADMIN_PAGE_SIZE`. An index the table
 * does not have (a store created before it, or a stack upgraded half-way) is
 * reported as `missingIndex` and the caller decides to scan.
 */
export class DynamoSessionDirectory implements SessionDirectory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly nowSeconds: () => number,
    private readonly pageSize = ADMIN_PAGE_SIZE,
  ) {}

  async *pages(plan: SessionQueryPlan): AsyncGenerator<SessionPage> {
    let startKey: Record<string, unknown> | undefined;
    do {
      let items: Record<string, unknown>[];
      let read: number;
      try {
        if (plan.kind === 'scan') {
          const page = await this.client.send(new ScanCommand({ TableName: this.tableName, Limit: this.pageSize, ExclusiveStartKey: startKey }));
          items = page.Items ?? [];
          read = page.ScannedCount ?? items.length;
          startKey = page.LastEvaluatedKey;
        } else {
          const page = await this.client.send(new QueryCommand({ TableName: this.tableName, Limit: this.pageSize, ExclusiveStartKey: startKey, ...keyCondition(plan) }));
          read = page.Count ?? 0;
          startKey = page.LastEvaluatedKey;
          items = await this.batchGet((page.Items ?? []).map((item) => String(item.sid)));
        }
      } catch (error) {
        if (plan.kind === 'index' && isMissingIndex(error)) throw new MissingIndexError(plan.index);
        throw toStoreError(error);
      }
      yield { sessions: items.map(toSession).filter((session) => !this.expired(session)), read };
    } while (startKey);
  }

  async get(sid: string): Promise<AdminSession | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { sid }, ConsistentRead: true }))).Item;
    } catch (error) {
      throw toStoreError(error);
    }
    const session = item ? toSession(item) : undefined;
    return session && !this.expired(session) ? session : undefined;
  }

  async recordAdminRevocation(sid: string, record: AdminRevocation): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid },
          UpdateExpression: 'SET adminRevocation = :record',
          // Only on the session this revocation ended: revoked at this very second, not yet attributed.
          ConditionExpression: 'attribute_exists(sid) AND #status = :revoked AND endedAt = :at AND attribute_not_exists(adminRevocation)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':record': record, ':revoked': 'revoked', ':at': record.at },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw toStoreError(error);
    }
  }

  private expired(session: AdminSession): boolean {
    // As the session store: an item past its TTL is absent, whatever DynamoDB's deletion lag.
    return typeof session.ttl === 'number' && session.ttl <= this.nowSeconds();
  }

  /** Items for `sids` (strongly consistent), in the order given; vanished ones are left out. */
  private async batchGet(sids: string[]): Promise<Record<string, unknown>[]> {
    if (sids.length === 0) return [];
    const found = new Map<string, Record<string, unknown>>();
    for (let start = 0; start < sids.length; start += ADMIN_PAGE_SIZE) {
      let keys: Record<string, unknown>[] | undefined = sids.slice(start, start + ADMIN_PAGE_SIZE).map((sid) => ({ sid }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round === MAX_UNPROCESSED_ROUNDS) throw new Error('the store left keys unprocessed after repeated attempts (throttled)');
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
        const answer: BatchGetCommandOutput = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of answer.Responses?.[this.tableName] ?? []) found.set(String(item.sid), item);
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return sids.flatMap((sid) => (found.has(sid) ? [found.get(sid)!] : []));
  }
}

function keyCondition(plan: Extract<SessionQueryPlan, { kind: 'index' }>) {
  const attribute = { bySubject: 'sub', byUpstreamSid: 'upstreamSid', byTrust: 'trust', byRepository: 'repository' }[plan.index];
  const names: Record<string, string> = { '#k': attribute };
  const values: Record<string, unknown> = { ':k': plan.value };
  let expression = '#k = :k';
  if (plan.index === 'byTrust' || plan.index === 'byRepository') {
    // Created range as a key condition on the index's sort key (`createdBefore` is exclusive).
    const after = plan.createdAfter;
    const before = plan.createdBefore === undefined ? undefined : plan.createdBefore - 1;
    if (after !== undefined || before !== undefined) names['#c'] = 'sidCreatedAt';
    if (after !== undefined && before !== undefined) {
      expression += ' AND #c BETWEEN :after AND :before';
      values[':after'] = after;
      values[':before'] = before;
    } else if (after !== undefined) {
      expression += ' AND #c >= :after';
      values[':after'] = after;
    } else if (before !== undefined) {
      expression += ' AND #c <= :before';
      values[':before'] = before;
    }
  }
  return { IndexName: SESSION_INDEXES[plan.index], KeyConditionExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

function isMissingIndex(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return name === 'ValidationException' && /index/i.test(message ?? '');
}

function toSession(item: Record<string, unknown>): AdminSession {
  const session = item as unknown as AdminSession;
  return { ...session, usedHashes: session.usedHashes ?? [], context: session.context ?? {} };
}
