import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RATE_LIMIT_KEY_PREFIX } from '../../src/adapters/dynamo-rate-limiter';

/** Every item of both tables, sorted by key: what "nothing was written" is checked against. */
export interface StoreSnapshot {
  sessions: Record<string, unknown>[];
  guards: Record<string, unknown>[];
}

async function scanAll(db: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Reads both tables whole (strongly consistent scans). Rate-limit counters
 * (`rl#…` in the guards table) are left out unless `withRateLimits`: every
 * request counts against them, refused ones too, by design.
 */
export async function snapshotStore(
  db: DynamoDBDocumentClient,
  tables: { sessions: string; guards: string },
  options: { withRateLimits?: boolean } = {},
): Promise<StoreSnapshot> {
  const sessions = (await scanAll(db, tables.sessions)).sort((a, b) => String(a.sid).localeCompare(String(b.sid)));
  const guards = (await scanAll(db, tables.guards))
    .filter((item) => options.withRateLimits || !String(item.pk).startsWith(RATE_LIMIT_KEY_PREFIX))
    .sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
  return { sessions, guards };
}
