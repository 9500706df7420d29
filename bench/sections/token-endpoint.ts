import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AutocannonRequest } from 'autocannon';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { parseRefreshToken } from '../../src/domain/refresh-token';
import { EXCHANGE_GRANT } from '../events';
import type { BenchIssuer } from '../issuer';
import { assertHealthy, runLoad } from '../load';
import { concurrentLoop, ratioOf, spread, type Spread } from '../stats';

export interface TokenServer {
  baseUrl: string;
  storeEndpoint: string;
  tables: { sessions: string; guards: string };
}

/** Store requests one operation makes (from section 4), to turn the store's rates into a ceiling. */
export interface RequestMix {
  reads: number;
  writes: number;
}

export interface TokenEndpointFigures {
  connections: number;
  exchangesPerSecond: Spread;
  refreshesPerSecond: Spread;
  /** The store's own rates, same store, same concurrency, same run: consistent GetItem of a session item... */
  storeGetItemPerSecond: Spread;
  /** ...and a conditional UpdateItem of it. */
  storeUpdateItemPerSecond: Spread;
  /** What the store alone would allow for the operation's measured requests: 1 / (reads/get rate + writes/update rate). */
  exchangeStoreCeiling: Spread;
  refreshStoreCeiling: Spread;
  /** Operation rate ÷ its store ceiling. */
  exchangeOfCeiling: Spread;
  refreshOfCeiling: Spread;
  subjectTokensMinted: number;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Mints `count` subject tokens, several at a time (RSA signing runs on the thread pool). */
async function mintPool(issuer: BenchIssuer, count: number): Promise<string[]> {
  const pool: string[] = [];
  await concurrentLoop(async () => pool.push(await issuer.mintCi()), { maxOps: count, maxMs: 60_000, concurrency: 4 });
  return pool;
}

/**
 * 3. The token endpoint over HTTP against the local server and its embedded
 * store: token exchanges and refreshes per second at a fixed concurrency,
 * with the store's own GetItem and UpdateItem rates measured in the same run
 * as the floor they sit on. Exchanges use single-use CI subject tokens minted
 * beforehand (one per request); refreshes follow one rotation chain per
 * connection.
 */
export async function benchTokenEndpoint(
  server: TokenServer,
  issuer: BenchIssuer,
  plan: { rounds: number; seconds: number; maxRequestsPerRound: number; connections: number; storeSeconds: number; mix: { exchange: RequestMix; refresh: RequestMix } },
): Promise<TokenEndpointFigures> {
  const { connections } = plan;
  const tokenUrl = `${server.baseUrl}/token`;
  const subjects = await mintPool(issuer, plan.rounds * plan.maxRequestsPerRound + 4 * connections);
  const subjectsMinted = subjects.length;

  const exchangeOnce = async (): Promise<string> => {
    const subject = subjects.pop();
    if (!subject) throw new Error('token bench: ran out of subject tokens');
    const response = await fetch(tokenUrl, { method: 'POST', headers: FORM, body: new URLSearchParams({ ...EXCHANGE_GRANT, subject_token: subject }) });
    const body = (await response.json()) as { refresh_token?: string; error?: string };
    if (response.status !== 200 || !body.refresh_token) throw new Error(`token bench: exchange answered ${response.status} ${body.error}`);
    return body.refresh_token;
  };

  // One rotation chain per connection; a round cut short loses the tokens in flight, so top up before each.
  const refreshTokens: string[] = [];
  const topUp = async () => {
    while (refreshTokens.length < connections) refreshTokens.push(await exchangeOnce());
  };
  await topUp();

  // The store floor's item: a copy of a real session, so it is the size refresh reads and writes.
  const store = createDocumentClient({ endpoint: server.storeEndpoint, region: 'local' });
  const sid = parseRefreshToken(refreshTokens[0]!)!.sid;
  const session = (await store.send(new GetCommand({ TableName: server.tables.sessions, Key: { sid }, ConsistentRead: true }))).Item;
  if (!session) throw new Error('token bench: the session just created is not in the store');
  const floorKey = { sid: 'bench-store-floor' };
  await store.send(new PutCommand({ TableName: server.tables.sessions, Item: { ...session, ...floorKey } }));
  const storeGet = () => store.send(new GetCommand({ TableName: server.tables.sessions, Key: floorKey, ConsistentRead: true }));
  const storeUpdate = () =>
    store.send(
      new UpdateCommand({
        TableName: server.tables.sessions,
        Key: floorKey,
        UpdateExpression: 'SET rotatedAt = :now ADD refreshCount :one',
        ConditionExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000), ':one': 1, ':active': 'active' },
      }),
    );

  const exchangeRequests: AutocannonRequest[] = [
    {
      method: 'POST',
      path: '/token',
      headers: FORM,
      setupRequest: (request) => {
        // autocannon builds one request per connection more than it sends; an empty pool only ever feeds those.
        const subject = subjects.pop() ?? 'pool-exhausted';
        return { ...request, body: new URLSearchParams({ ...EXCHANGE_GRANT, subject_token: subject }).toString() };
      },
    },
  ];
  const refreshRequests: AutocannonRequest[] = [
    {
      method: 'POST',
      path: '/token',
      headers: FORM,
      setupRequest: (request) => {
        const token = refreshTokens.shift() ?? 'tgr_pool-exhausted.x';
        return { ...request, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString() };
      },
      onResponse: (status, body) => {
        if (status !== 200) return;
        const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
        if (next) refreshTokens.push(next);
      },
    },
  ];

  const exchangeRounds: number[] = [];
  const refreshRounds: number[] = [];
  const getRounds: number[] = [];
  const updateRounds: number[] = [];
  const roundOf = (maxRequests: number) => ({ url: server.baseUrl, connections, maxRequests, maxSeconds: plan.seconds });
  for (let round = -1; round < plan.rounds; round++) {
    const warmup = round < 0;
    const exchangeBudget = Math.max(connections, Math.min(plan.maxRequestsPerRound, subjects.length - 2 * connections));
    const exchanged = await runLoad({ ...roundOf(warmup ? Math.min(exchangeBudget, 4 * connections) : exchangeBudget), requests: exchangeRequests });
    assertHealthy('token exchange', exchanged);
    await topUp();
    const refreshed = await runLoad({ ...roundOf(warmup ? 4 * connections : plan.maxRequestsPerRound), requests: refreshRequests });
    assertHealthy('token refresh', refreshed);
    await topUp();
    const bounds = { maxOps: 1_000_000, maxMs: (warmup ? 0.2 : plan.storeSeconds) * 1000, concurrency: connections };
    const gets = await concurrentLoop(storeGet, bounds);
    const updates = await concurrentLoop(storeUpdate, bounds);
    if (warmup) continue;
    exchangeRounds.push(exchanged.rps);
    refreshRounds.push(refreshed.rps);
    getRounds.push(gets.opsPerSecond);
    updateRounds.push(updates.opsPerSecond);
  }
  store.destroy();

  const exchangesPerSecond = spread(exchangeRounds);
  const refreshesPerSecond = spread(refreshRounds);
  const ceiling = (mix: RequestMix) => spread(getRounds.map((get, i) => 1 / (mix.reads / get + mix.writes / updateRounds[i]!)));
  const exchangeStoreCeiling = ceiling(plan.mix.exchange);
  const refreshStoreCeiling = ceiling(plan.mix.refresh);
  return {
    connections,
    exchangesPerSecond,
    refreshesPerSecond,
    storeGetItemPerSecond: spread(getRounds),
    storeUpdateItemPerSecond: spread(updateRounds),
    exchangeStoreCeiling,
    refreshStoreCeiling,
    exchangeOfCeiling: ratioOf(exchangesPerSecond, exchangeStoreCeiling),
    refreshOfCeiling: ratioOf(refreshesPerSecond, refreshStoreCeiling),
    subjectTokensMinted: subjectsMinted,
  };
}
