import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parseRefreshToken } from '../../src/domain/refresh-token';
import { EXCHANGE_GRANT, formEvent } from '../events';
import type { BenchHandler, InProcessTollgate } from '../in-process';
import type { BenchIssuer } from '../issuer';
import type { StoreRequestTally } from '../store-request-counter';

/** One operation's store requests, counted over several repetitions (each on its own session where that matters). */
export interface OperationCount {
  operation: string;
  /** The tally of every repetition; they should agree, and the table shows the largest. */
  repetitions: StoreRequestTally[];
  /** The largest counts over the repetitions. */
  worst: Omit<StoreRequestTally, 'byOperation'>;
}

export type ProxyInvoker = (accessToken: string) => Promise<{ statusCode: number; body?: string }>;

interface TokenBody {
  access_token: string;
  refresh_token: string;
}

function expectStatus(label: string, result: { statusCode: number; body?: string }, status = 200): void {
  if (result.statusCode !== status) throw new Error(`store requests: ${label} answered ${result.statusCode} ${result.body ?? ''}`);
}

/**
 * 4. Store requests per operation, counted by the SDK middleware on the
 * document client (not read off the code): exchange, refresh, verify cold
 * and cached, proxy cold and cached (when the proxy is there), revoke.
 */
export interface StoreRequestFigures {
  operations: OperationCount[];
  /** DynamoDB's size of a session item after one refresh (attribute names and values), bytes. */
  sessionItemBytes: number;
}

/**
 * DynamoDB's item size rule, near enough for request units: attribute names
 * plus values (strings by UTF-8 length, numbers about one byte per two
 * digits plus one, lists and maps 3 bytes plus 1 per element).
 */
export function dynamoItemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace('.', '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, item) => sum + 1 + dynamoItemBytes(item), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as Record<string, unknown>).reduce((sum, [name, item]) => sum + 1 + Buffer.byteLength(name) + dynamoItemBytes(item), 0);
  }
  return 0;
}

export async function benchStoreRequests(
  tollgate: InProcessTollgate,
  issuer: BenchIssuer,
  options: { repetitions: number; proxy?: ProxyInvoker },
): Promise<StoreRequestFigures> {
  const { counter } = tollgate;
  const call = (handler: BenchHandler, path: string, parameters: Record<string, string>) => handler(formEvent(path, parameters));
  const exchange = async (): Promise<TokenBody> => {
    const result = await call(tollgate.token, '/token', { ...EXCHANGE_GRANT, subject_token: await issuer.mintCi() });
    expectStatus('exchange', result);
    return JSON.parse(result.body) as TokenBody;
  };
  const tallies = new Map<string, StoreRequestTally[]>();
  let sessionItemBytes = 0;
  const record = (operation: string, tally: StoreRequestTally) => {
    tallies.set(operation, [...(tallies.get(operation) ?? []), tally]);
  };

  for (let i = 0; i < options.repetitions; i++) {
    const subject = await issuer.mintCi();
    const exchanged = await counter.tally(async () => {
      const result = await call(tollgate.token, '/token', { ...EXCHANGE_GRANT, subject_token: subject });
      expectStatus('exchange', result);
      return JSON.parse(result.body) as TokenBody;
    });
    record('exchange', exchanged.tally);
    const tokens = exchanged.result;

    const refreshed = await counter.tally(async () => {
      const result = await call(tollgate.token, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      expectStatus('refresh', result);
      return JSON.parse(result.body) as TokenBody;
    });
    record('refresh', refreshed.tally);
    if (i === 0) {
      const sid = parseRefreshToken(refreshed.result.refresh_token)!.sid;
      const item = (await tollgate.documentClient.send(new GetCommand({ TableName: tollgate.tables.sessions, Key: { sid } }))).Item;
      // The top-level item is not a map attribute: drop the 3-byte map overhead.
      sessionItemBytes = item ? dynamoItemBytes(item) - 3 : 0;
    }

    // The session was never looked up by this process's gate: the first verify is cold.
    for (const label of ['verify (cold)', 'verify (cached)']) {
      const verified = await counter.tally(() => call(tollgate.verify, '/verify', { token: refreshed.result.access_token }));
      expectStatus(label, verified.result);
      if (!(JSON.parse(verified.result.body) as { active: boolean }).active) throw new Error(`store requests: ${label} found the token inactive`);
      record(label, verified.tally);
    }

    if (options.proxy) {
      const fresh = await exchange();
      for (const label of ['proxy (cold)', 'proxy (cached)']) {
        const proxied = await counter.tally(() => options.proxy!(fresh.access_token));
        expectStatus(label, proxied.result);
        record(label, proxied.tally);
      }
    }

    const revokeAccess = await counter.tally(() => call(tollgate.revoke, '/revoke', { token: (tokens.access_token) }));
    expectStatus('revoke (access token)', revokeAccess.result);
    record('revoke (access token)', revokeAccess.tally);

    const other = await exchange();
    const revokeRefresh = await counter.tally(() => call(tollgate.revoke, '/revoke', { token: other.refresh_token }));
    expectStatus('revoke (refresh token)', revokeRefresh.result);
    record('revoke (refresh token)', revokeRefresh.tally);
  }

  const fields = ['reads', 'writes', 'conditionalWrites', 'consistentReads', 'rateLimitWrites', 'rateLimitReads', 'roundTrips'] as const;
  const operations = [...tallies].map(([operation, repetitions]) => ({
    operation,
    repetitions,
    worst: Object.fromEntries(fields.map((field) => [field, Math.max(...repetitions.map((tally) => tally[field]))])) as OperationCount['worst'],
  }));
  return { operations, sessionItemBytes };
}

export interface StoreVerdict {
  target: string;
  /** The counts as measured, every request included. */
  pass: boolean;
  /**
   * The same target with rate-limit counter requests left out: the targets
   * were set before `/token` got its per-subject and per-IP rate limits, and
   * the proxy's own allowance of "+ 1 rate-limit claim" is counted apart.
   */
  passWithoutRateLimits: boolean;
}

/** How an operation's counts compare with the targets; undefined when the issue sets none. */
export function storeTarget(operation: string, worst: OperationCount['worst']): StoreVerdict | undefined {
  const all = { reads: worst.reads, writes: worst.writes, conditionalWrites: worst.conditionalWrites };
  const core = {
    reads: worst.reads - worst.rateLimitReads,
    writes: worst.writes - worst.rateLimitWrites,
    conditionalWrites: worst.conditionalWrites,
  };
  type Counts = typeof all;
  const judge = (target: string, literal: (counts: Counts) => boolean, withoutRateLimits: (counts: Counts) => boolean = literal): StoreVerdict => ({
    target,
    pass: literal(all),
    passWithoutRateLimits: withoutRateLimits(core),
  });
  switch (operation) {
    case 'exchange':
      return judge('≤ 2 writes', (counts) => counts.writes <= 2);
    case 'refresh':
      return judge('exactly 1 conditional write', (counts) => counts.writes === 1 && counts.conditionalWrites === 1);
    case 'verify (cold)':
      return judge('≤ 1 read, 0 writes', (counts) => counts.reads <= 1 && counts.writes === 0);
    case 'verify (cached)':
      return judge('0 reads, 0 writes', (counts) => counts.reads === 0 && counts.writes === 0);
    case 'proxy (cold)':
      return judge(
        // Leased quota: a session's first request may claim a slice (and read the previous minute's total, once per key).
        '≤ 1 read + 1 rate-limit claim',
        (counts) => counts.reads <= 1 && counts.writes <= 1,
        (counts) => counts.reads <= 1 && counts.writes === 0 && worst.rateLimitWrites <= 1,
      );
    case 'proxy (cached)':
      return judge(
        // Most requests spend a slice the instance holds: no store request; the worst repetition may claim the next one.
        '0 reads + at most 1 rate-limit claim',
        (counts) => counts.reads === 0 && counts.writes <= 1,
        (counts) => counts.reads === 0 && counts.writes === 0 && worst.rateLimitWrites <= 1,
      );
    default:
      return undefined;
  }
}
