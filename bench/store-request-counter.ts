import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** DynamoDB operations that read; every other operation counted here writes. */
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

/** Store requests of one kind (operation on one table), as the SDK sent them. */
export interface StoreRequestCount {
  /** `GetItem`, `PutItem`, `UpdateItem`, ... (the low-level operation, whatever document command sent it). */
  operation: string;
  table: string;
  kind: 'read' | 'write';
  /** Requests sent, retries included (DynamoDB bills each attempt). */
  requests: number;
  /** Of those, requests that carried a `ConditionExpression`. */
  conditional: number;
  /** Of those, strongly consistent reads (twice the read units of an eventually consistent one). */
  consistent: number;
  /** Requests the store refused (a failed condition still costs a write). */
  failed: number;
  /** What the item is: `session`, `rate-limit` (guards `rl#…`), `replay` (guards `subject#…`), or the key's prefix. */
  purpose: string;
}

export interface StoreRequestTally {
  reads: number;
  writes: number;
  conditionalWrites: number;
  consistentReads: number;
  /** Writes to rate-limit counters (a subset of `writes`). */
  rateLimitWrites: number;
  /** Reads of rate-limit counters (a subset of `reads`). */
  rateLimitReads: number;
  /**
   * Store round trips on the critical path: requests that started while no
   * other was in flight (requests sent together, `Promise.all`, count once).
   */
  roundTrips: number;
  byOperation: StoreRequestCount[];
}

interface CommandInput {
  TableName?: unknown;
  ConditionExpression?: unknown;
  ConsistentRead?: unknown;
  Key?: Record<string, unknown>;
  Item?: Record<string, unknown>;
}

/** Guards-table key prefixes (see the rate limiter and the replay guard) and what they hold. */
const PURPOSES: Record<string, string> = { rl: 'rate-limit', subject: 'replay' };

/** Reads a key attribute whether or not the document client has marshalled it yet (`{ S: '…' }`). */
function keyString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const marshalled = (value as { S?: unknown } | undefined)?.S;
  return typeof marshalled === 'string' ? marshalled : undefined;
}

function purposeOf(input: CommandInput): string {
  const key = input.Key ?? input.Item ?? {};
  if ('sid' in key) return 'session';
  const pk = keyString(key.pk);
  if (pk === undefined) return 'other';
  const prefix = pk.split('#')[0]!;
  return PURPOSES[prefix] ?? prefix;
}

/**
 * Counts the DynamoDB requests a document client sends, with an AWS SDK
 * middleware on the client's own stack: what the services really send, not
 * an estimate from reading the code. `tally(fn)` gives the requests made
 * while `fn` ran, so take it around one operation at a time.
 */
export class StoreRequestCounter {
  private readonly counts = new Map<string, StoreRequestCount>();
  private inFlight = 0;
  private roundTrips = 0;

  /** Adds the counting middleware to `client` (the document client shares its stack with the DynamoDB client). */
  constructor(client: DynamoDBDocumentClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String((context as { commandName?: unknown }).commandName ?? 'Unknown').replace(/Command$/, '');
        const input = (args.input ?? {}) as CommandInput;
        if (this.inFlight === 0) this.roundTrips += 1;
        this.inFlight += 1;
        try {
          const output = await next(args);
          this.record(operation, input, attemptsOf(output), false);
          return output;
        } catch (error) {
          this.record(operation, input, attemptsOf(error), true);
          throw error;
        } finally {
          this.inFlight -= 1;
        }
      },
      { step: 'initialize', name: 'benchStoreRequestCounter', override: true },
    );
  }

  /** Everything counted so far. */
  snapshot(): StoreRequestTally {
    return summarize([...this.counts.values()].map((count) => ({ ...count })), this.roundTrips);
  }

  /** The requests made while `fn` ran (nothing else may use the client meanwhile). */
  async tally<T>(fn: () => Promise<T>): Promise<{ result: T; tally: StoreRequestTally }> {
    const before = new Map([...this.counts].map(([key, count]) => [key, { ...count }]));
    const roundTripsBefore = this.roundTrips;
    const result = await fn();
    const delta: StoreRequestCount[] = [];
    for (const [key, count] of this.counts) {
      const earlier = before.get(key);
      const requests = count.requests - (earlier?.requests ?? 0);
      if (requests === 0) continue;
      delta.push({
        ...count,
        requests,
        conditional: count.conditional - (earlier?.conditional ?? 0),
        consistent: count.consistent - (earlier?.consistent ?? 0),
        failed: count.failed - (earlier?.failed ?? 0),
      });
    }
    return { result, tally: summarize(delta, this.roundTrips - roundTripsBefore) };
  }

  private record(operation: string, input: CommandInput, attempts: number, failed: boolean): void {
    const table = typeof input.TableName === 'string' ? input.TableName : '?';
    const purpose = purposeOf(input);
    const key = `${operation} ${table} ${purpose}`;
    const count = this.counts.get(key) ?? {
      operation,
      table,
      purpose,
      kind: READS.has(operation) ? 'read' : 'write',
      requests: 0,
      conditional: 0,
      consistent: 0,
      failed: 0,
    };
    count.requests += attempts;
    if (input.ConditionExpression) count.conditional += attempts;
    if (input.ConsistentRead === true) count.consistent += attempts;
    if (failed) count.failed += 1;
    this.counts.set(key, count);
  }
}

/** `$metadata.attempts` of an SDK output or error; 1 when the SDK did not say. */
function attemptsOf(value: unknown): number {
  const attempts = (value as { $metadata?: { attempts?: unknown } } | undefined)?.$metadata?.attempts;
  return typeof attempts === 'number' && attempts > 0 ? attempts : 1;
}

function summarize(byOperation: StoreRequestCount[], roundTrips: number): StoreRequestTally {
  let reads = 0;
  let writes = 0;
  let conditionalWrites = 0;
  let consistentReads = 0;
  let rateLimitWrites = 0;
  let rateLimitReads = 0;
  for (const count of byOperation) {
    if (count.kind === 'read') {
      reads += count.requests;
      consistentReads += count.consistent;
      if (count.purpose === 'rate-limit') rateLimitReads += count.requests;
    } else {
      writes += count.requests;
      conditionalWrites += count.conditional;
      if (count.purpose === 'rate-limit') rateLimitWrites += count.requests;
    }
  }
  byOperation.sort((a, b) => a.purpose.localeCompare(b.purpose) || a.operation.localeCompare(b.operation));
  return { reads, writes, conditionalWrites, consistentReads, rateLimitWrites, rateLimitReads, roundTrips, byOperation };
}
