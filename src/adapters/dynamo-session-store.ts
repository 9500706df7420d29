import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from './dynamo-commands';
import type { SessionKind } from '../config/config';
import { newWriteId } from '../domain/refresh-token';
import { USED_HASHES_KEPT, type Session, type SessionEndReason } from '../domain/session';
import type { EndCondition, RefreshAttempt, RefreshOutcome, SessionStore } from '../ports/session-store';
import { isConditionFailure, toStoreError } from './dynamo-errors';
// GSI names are contract (src/contract/tables.ts): the CDK table construct and the local tables create the same.
import { SESSION_INDEXES } from '../contract/tables';

/**
 * The attributes only an index keys on (the admin CLI's `byRepository`): a ci
 * session's GitHub repository, copied out of its context at create. An index
 * key may not be an empty string, so none is written for one.
 */
function indexAttributes(session: Session): { repository?: string } {
  const repository = (session.context.gh as { repository?: unknown } | undefined)?.repository;
  return typeof repository === 'string' && repository !== '' ? { repository } : {};
}

/**
 * Sessions in one DynamoDB table keyed by `sid`, with TTL attribute `ttl`.
 * Every attribute name in an expression goes through a placeholder (`status`,
 * `ttl` and others are reserved words).
 *
 * Every write is conditional and stores a fresh `writeId`. When the condition
 * fails, the item it found (`ReturnValuesOnConditionCheckFailure: ALL_OLD`,
 * or a strongly consistent read from stores that do not return it, such as
 * dynalite) says whether the obstacle was this very write, applied by an
 * attempt whose answer was lost and then retried by the SDK. When every
 * attempt failed without an answer (timeouts, resets), one strongly
 * consistent read looks: the write is ours if the item carries our id, else
 * it did not land and the store error stands (Jepsen's "indeterminate until
 * you look").
 */
export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly nowSeconds: () => number,
  ) {}

  async create(session: Session): Promise<boolean> {
    const item: Session & { repository?: string } = { ...session, ...indexAttributes(session), writeId: session.writeId ?? newWriteId() };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // An item past its `ttl` counts as absent whatever DynamoDB's deletion lag (a derived sid can come back).
          ConditionExpression: 'attribute_not_exists(sid) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': this.nowSeconds() },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      return (await this.afterFailedWrite(error, item.sid, item.writeId!)).ours;
    }
  }

  async discard(session: Session): Promise<void> {
    if (!session.writeId) return;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { sid: session.sid },
          ConditionExpression: 'writeId = :writeId',
          ExpressionAttributeValues: { ':writeId': session.writeId },
        }),
      );
    } catch (error) {
      // Gone already, or changed by a later write: nothing of ours to undo.
      if (isConditionFailure(error)) return;
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
    return this.live(item);
  }

  async rotate(attempt: RefreshAttempt): Promise<RefreshOutcome> {
    const writeId = newWriteId();
    const { names, values, condition, update } = rotationExpressions(attempt, writeId);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid: attempt.sid },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { rotated: true, session: this.live(result.Attributes)! };
    } catch (error) {
      const found = await this.afterFailedWrite(error, attempt.sid, writeId, true);
      if (found.ours) return { rotated: true, session: this.live(found.item)! };
      return { rotated: false, session: this.live(found.item) };
    }
  }

  async retime(sid: string, refreshHash: string, idleTimeoutSeconds: number, idleExpiry: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid },
          UpdateExpression: 'SET idleTimeoutSeconds = :idle, idleExpiry = :idleExpiry, writeId = :writeId',
          ConditionExpression: 'refreshHash = :hash AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':idle': idleTimeoutSeconds, ':idleExpiry': idleExpiry, ':hash': refreshHash, ':active': 'active', ':writeId': newWriteId() },
        }),
      );
    } catch (error) {
      // Rotated again or ended meanwhile (or our own retried write): nothing left to move. Idempotent otherwise.
      if (isConditionFailure(error)) return;
      throw toStoreError(error);
    }
  }

  async end(sid: string, reason: SessionEndReason, now: number, only: EndCondition = {}): Promise<boolean> {
    const status = reason === 'absolute' || reason === 'idle' || reason === 'max_refreshes' ? 'ended' : 'revoked';
    const writeId = newWriteId();
    const conditions = ['attribute_exists(sid) AND #status = :active'];
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':status': status, ':reason': reason, ':now': now, ':active': 'active', ':writeId': writeId };
    if (only.knownHash !== undefined || only.sub !== undefined) {
      // As `get` would: an item past its `ttl` is absent, so it is not revoked (nor counted) either.
      names['#ttl'] = 'ttl';
      values[':clock'] = this.nowSeconds();
      conditions.push('#ttl > :clock');
    }
    if (only.knownHash !== undefined) {
      values[':hash'] = only.knownHash;
      conditions.push('(refreshHash = :hash OR prevRefreshHash = :hash OR contains(usedHashes, :hash))');
    }
    if (only.sub !== undefined) {
      names['#sub'] = 'sub';
      values[':sub'] = only.sub;
      conditions.push('#sub = :sub');
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { sid },
          UpdateExpression: 'SET #status = :status, endReason = :reason, endedAt = :now, writeId = :writeId',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      return (await this.afterFailedWrite(error, sid, writeId)).ours;
    }
  }

  /**
   * A conditional write failed: whether the item holds this very write (`writeId`),
   * and the item as the store holds it. A failed condition brings the item along
   * (or one read fetches it; not when the caller needs no item and the SDK made one
   * attempt only, since then no earlier attempt of ours can have applied). An
   * answer lost on every attempt is looked up once:
   * the write is ours if the item carries our id; otherwise, or if that read fails
   * too, the write's own store error is thrown (503: it did not land, or its
   * outcome is unknown). Validation errors are programmer errors, rethrown as they are.
   */
  private async afterFailedWrite(
    error: unknown,
    sid: string,
    writeId: string,
    needItem = false,
  ): Promise<{ ours: boolean; item?: Record<string, unknown> }> {
    if (isConditionFailure(error)) {
      const returned = failedConditionItem(error);
      if (!returned && !needItem && attemptsOf(error) === 1) return { ours: false };
      const item = returned ?? (await this.read(sid));
      return { ours: item?.writeId === writeId, item };
    }
    const storeError = toStoreError(error);
    if (storeError === error) throw error;
    const item = await this.read(sid).catch(() => {
      throw storeError;
    });
    if (item?.writeId !== writeId) throw storeError;
    return { ours: true, item };
  }

  private async read(sid: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { sid }, ConsistentRead: true }))).Item;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /**
   * The session an item holds, as the services use it: absent when past its
   * `ttl` (whatever the deletion lag); `usedHashes` without the padding of the
   * one-write shift (below) and without the previous or current hash;
   * `idleExpiry` never after `sidExpiry`.
   */
  private live(item: Record<string, unknown> | undefined): Session | undefined {
    if (!item) return undefined;
    const session = item as unknown as Session;
    if (typeof session.ttl === 'number' && session.ttl <= this.nowSeconds()) return undefined;
    const usedHashes = [...new Set(session.usedHashes ?? [])].filter((hash) => hash !== session.prevRefreshHash && hash !== session.refreshHash);
    return {
      ...session,
      usedHashes,
      idleExpiry: Math.min(session.idleExpiry, session.sidExpiry),
      context: session.context ?? {},
    };
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

/**
 * The refresh's one conditional `UpdateItem`.
 *
 * Condition: the presented hash is the current one; the session is active,
 * before its absolute and idle ends and its `ttl`; for its kind, the count is
 * below `maxRefreshes`, its trust entry still exists, and (unbound) that entry
 * does not require DPoP; the client id and the DPoP key match.
 *
 * Update: the successor's hash and sealed copy, the presented hash as the
 * previous one, the idle deadline moved by the session's own
 * `idleTimeoutSeconds`, the count, the write id, and the remembered hashes
 * shifted by one: `usedHashes[i] = usedHashes[i-1]`, `usedHashes[0]` the old
 * previous hash. Every right-hand side reads the item as it was before the
 * write, so this is a shift register of `USED_HASHES_KEPT` entries; a slot
 * that did not exist yet is filled with the presented hash (a duplicate,
 * which `live()` drops), since an update cannot skip a slot.
 */
function rotationExpressions(attempt: RefreshAttempt, writeId: string) {
  // DynamoDB refuses a placeholder no expression uses: `#kind` and `#trust` are added where used.
  const names: Record<string, string> = { '#status': 'status', '#ttl': 'ttl', '#count': 'refreshCount', '#idle': 'idleTimeoutSeconds' };
  const values: Record<string, unknown> = {
    ':presented': attempt.presentedHash,
    ':next': attempt.nextHash,
    ':box': attempt.successorBox,
    ':now': attempt.now,
    ':active': 'active',
    ':one': 1,
    ':writeId': writeId,
  };
  const kindClauses: string[] = [];
  for (const kind of Object.keys(attempt.policies) as SessionKind[]) {
    const policy = attempt.policies[kind];
    if (policy.trusts.length === 0) continue;
    names['#kind'] = 'kind';
    names['#trust'] = 'trust';
    values[`:kind_${kind}`] = kind;
    values[`:max_${kind}`] = policy.maxRefreshes;
    const trusts = policy.trusts.map((name, i) => {
      values[`:trust_${kind}_${i}`] = name;
      return `:trust_${kind}_${i}`;
    });
    let clause = `#kind = :kind_${kind} AND #count < :max_${kind} AND #trust IN (${trusts.join(', ')})`;
    if (!attempt.jkt && policy.dpopRequired.length > 0) {
      const required = policy.dpopRequired.map((name, i) => {
        values[`:dpop_${kind}_${i}`] = name;
        return `:dpop_${kind}_${i}`;
      });
      clause += ` AND NOT (#trust IN (${required.join(', ')}))`;
    }
    kindClauses.push(clause);
  }
  const conditions = [
    'refreshHash = :presented',
    '#status = :active',
    'sidExpiry > :now',
    'idleExpiry > :now',
    '#ttl > :now',
    // DynamoDB refuses redundant parentheses: one kind is one group, two are two groups in one.
    kindClauses.length === 0 ? 'attribute_not_exists(sid)' : kindClauses.length === 1 ? `(${kindClauses[0]})` : `(${kindClauses.map((clause) => `(${clause})`).join(' OR ')})`,
  ];
  if (attempt.clientId !== undefined) {
    values[':clientId'] = attempt.clientId;
    conditions.push('(attribute_not_exists(clientId) OR clientId = :clientId)');
  }
  (attempt.scopes ?? []).forEach((scope, i) => {
    values[`:scope_${i}`] = scope;
    conditions.push(`contains(scopes, :scope_${i})`);
  });
  if (attempt.jkt !== undefined) {
    values[':jkt'] = attempt.jkt;
    conditions.push('jkt = :jkt');
  } else {
    conditions.push('attribute_not_exists(jkt)');
  }

  const sets = [
    'refreshHash = :next',
    'prevRefreshHash = :presented',
    'successorBox = :box',
    'rotatedAt = :now',
    '#count = #count + :one',
    'writeId = :writeId',
    'usedHashes[0] = if_not_exists(prevRefreshHash, :presented)',
  ];
  for (let i = 1; i < USED_HASHES_KEPT; i++) sets.push(`usedHashes[${i}] = if_not_exists(usedHashes[${i - 1}], :presented)`);
  if (attempt.legacy) {
    names['#kind'] = 'kind';
    values[':legacyKind'] = attempt.legacy.kind;
    values[':legacyIdle'] = attempt.legacy.idleTimeoutSeconds;
    values[':legacyIdleExpiry'] = attempt.now + attempt.legacy.idleTimeoutSeconds;
    values[':legacyCount'] = attempt.legacy.refreshCount;
    conditions.push('attribute_not_exists(#idle) AND #kind = :legacyKind AND #count = :legacyCount');
    sets.push('#idle = :legacyIdle', 'idleExpiry = :legacyIdleExpiry');
  } else {
    conditions.push('attribute_exists(#idle)');
    sets.push('idleExpiry = :now + #idle');
  }
  return { names, values, condition: conditions.join(' AND '), update: `SET ${sets.join(', ')}` };
}

/** How many attempts the SDK made for a request that failed (`$metadata.attempts`); unknown counts as several. */
function attemptsOf(error: unknown): number {
  const attempts = (error as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  return typeof attempts === 'number' ? attempts : Number.POSITIVE_INFINITY;
}

/**
 * The item a failed condition returned (`ReturnValuesOnConditionCheckFailure`);
 * the document client leaves it in wire form on errors. Undefined when the
 * store sent none (dynalite does not).
 */
function failedConditionItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, unknown> } | null)?.Item;
  if (!item || typeof item !== 'object') return undefined;
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, fromWire(value)]));
}

/** One DynamoDB attribute value in wire form (`{ S }`, `{ N }`, `{ L }`, `{ M }`, …) as the document client would give it. */
function fromWire(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value;
  const wire = value as { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; L?: unknown[]; M?: Record<string, unknown>; SS?: string[]; NS?: string[] };
  if (wire.S !== undefined) return wire.S;
  if (wire.N !== undefined) return Number(wire.N);
  if (wire.BOOL !== undefined) return wire.BOOL;
  if (wire.NULL !== undefined) return null;
  if (wire.L !== undefined) return wire.L.map(fromWire);
  if (wire.M !== undefined) return Object.fromEntries(Object.entries(wire.M).map(([name, item]) => [name, fromWire(item)]));
  if (wire.SS !== undefined) return new Set(wire.SS);
  if (wire.NS !== undefined) return new Set(wire.NS.map(Number));
  return value;
}
