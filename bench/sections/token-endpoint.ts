import { readFileSync } from 'node:fs';
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
  /** The server's process (its CPU time is read from /proc per round); absent: no CPU figures. */
  pid?: number;
}

/** node-oidc-provider issuing JWT access tokens for client credentials (bench/servers/oidc-provider.ts). */
export interface PeerServer {
  pid: number;
  baseUrl: string;
  tokenPath: string;
  client: { id: string; secret: string };
  resource: string;
  scope: string;
  alg: string;
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
  /** Server CPU time per exchange and per refresh (user + system of the server's process), milliseconds. */
  exchangeCpuMs?: Spread;
  refreshCpuMs?: Spread;
  /** The peer, same run, same connections: client-credentials JWT access tokens per second and its CPU per token. */
  peer?: { alg: string; tokensPerSecond: Spread; cpuMs: Spread; exchangeRatio: Spread };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used, milliseconds; undefined off Linux. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Runs `round` and returns its result with the CPU milliseconds `pid` spent per 2xx answer. */
async function withCpu<T extends { ok: number }>(pid: number | undefined, round: () => Promise<T>): Promise<{ result: T; cpuMs?: number }> {
  const before = cpuMsOf(pid);
  const result = await round();
  const after = cpuMsOf(pid);
  return { result, cpuMs: before === undefined || after === undefined || result.ok === 0 ? undefined : (after - before) / result.ok };
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
  peer?: PeerServer,
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

  // The peer's request: client credentials, the client's secret in HTTP Basic, one resource (RFC 8707) whose tokens are JWTs.
  const peerRequests: AutocannonRequest[] | undefined = peer && [
    {
      method: 'POST',
      path: peer.tokenPath,
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${peer.client.id}:${peer.client.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: peer.scope, resource: peer.resource }).toString(),
    },
  ];

  const exchangeRounds: number[] = [];
  const refreshRounds: number[] = [];
  const exchangeCpu: number[] = [];
  const refreshCpu: number[] = [];
  const peerRounds: number[] = [];
  const peerCpu: number[] = [];
  const getRounds: number[] = [];
  const updateRounds: number[] = [];
  const roundOf = (maxRequests: number) => ({ url: server.baseUrl, connections, maxRequests, maxSeconds: plan.seconds });
  for (let round = -1; round < plan.rounds; round++) {
    const warmup = round < 0;
    const exchangeBudget = Math.max(connections, Math.min(plan.maxRequestsPerRound, subjects.length - 2 * connections));
    const exchange = await withCpu(server.pid, () => runLoad({ ...roundOf(warmup ? Math.min(exchangeBudget, 4 * connections) : exchangeBudget), requests: exchangeRequests }));
    const exchanged = exchange.result;
    assertHealthy('token exchange', exchanged);
    await topUp();
    const refresh = await withCpu(server.pid, () => runLoad({ ...roundOf(warmup ? 4 * connections : plan.maxRequestsPerRound), requests: refreshRequests }));
    const refreshed = refresh.result;
    assertHealthy('token refresh', refreshed);
    // The peer right after, same connections and bounds, so drift on the machine lands on both.
    const peered = peer && peerRequests && (await withCpu(peer.pid, () => runLoad({ ...roundOf(warmup ? 4 * connections : plan.maxRequestsPerRound), url: peer.baseUrl, requests: peerRequests })));
    if (peered) assertHealthy('peer client credentials', peered.result);
    await topUp();
    const bounds = { maxOps: 1_000_000, maxMs: (warmup ? 0.2 : plan.storeSeconds) * 1000, concurrency: connections };
    const gets = await concurrentLoop(storeGet, bounds);
    const updates = await concurrentLoop(storeUpdate, bounds);
    if (warmup) continue;
    exchangeRounds.push(exchanged.rps);
    refreshRounds.push(refreshed.rps);
    if (exchange.cpuMs !== undefined) exchangeCpu.push(exchange.cpuMs);
    if (refresh.cpuMs !== undefined) refreshCpu.push(refresh.cpuMs);
    if (peered) {
      peerRounds.push(peered.result.rps);
      if (peered.cpuMs !== undefined) peerCpu.push(peered.cpuMs);
    }
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
    exchangeCpuMs: exchangeCpu.length > 0 ? spread(exchangeCpu) : undefined,
    refreshCpuMs: refreshCpu.length > 0 ? spread(refreshCpu) : undefined,
    peer:
      peer && peerRounds.length > 0
        ? { alg: peer.alg, tokensPerSecond: spread(peerRounds), cpuMs: spread(peerCpu.length > 0 ? peerCpu : [Number.NaN]), exchangeRatio: ratioOf(exchangesPerSecond, spread(peerRounds)) }
        : undefined,
  };
}
