import type { AutocannonRequest } from 'autocannon';
import { EXCHANGE_GRANT } from '../events';
import type { BenchIssuer } from '../issuer';
import { assertHealthy, runLoad, type LoadResult } from '../load';
import { concurrentLoop, spread, type Spread } from '../stats';
import { processCpuMs, type StoreDoor } from './proxy';

export interface TokenCostFigures {
  /** Per operation (`exchange`, `refresh`), per concurrency. */
  byOperation: Record<string, Record<string, { rps: Spread; p50: Spread; cpuMs: Spread; storeRequests: Spread }>>;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The proxy section's three figures for `/token` (issue 14): exchanges and
 * refreshes over HTTP against the same kind of server as the proxy's (the
 * local server, its store in a process of its own), with latency and
 * throughput, the server's CPU per operation and the store requests per
 * operation counted at the store's door, at each concurrency. Subject tokens
 * are single use, so each exchange gets one minted beforehand; refreshes
 * follow one rotation chain per connection.
 */
export async function benchTokenCosts(
  server: { baseUrl: string; pid: number; store: StoreDoor },
  issuer: BenchIssuer,
  plan: { rounds: number; seconds: number; maxRequestsPerRound: number; concurrencies: number[] },
): Promise<TokenCostFigures> {
  const subjects: string[] = [];
  const need = plan.rounds * plan.concurrencies.length * (plan.maxRequestsPerRound + 2 * Math.max(...plan.concurrencies)) + 64;
  await concurrentLoop(async () => subjects.push(await issuer.mintCi()), { maxOps: need, maxMs: 60_000, concurrency: 4 });

  const exchangeOnce = async (): Promise<string> => {
    const subject = subjects.pop();
    if (!subject) throw new Error('token costs: ran out of subject tokens');
    const response = await fetch(`${server.baseUrl}/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ ...EXCHANGE_GRANT, subject_token: subject }) });
    const body = (await response.json()) as { refresh_token?: string };
    if (response.status !== 200 || !body.refresh_token) throw new Error(`token costs: exchange answered ${response.status}`);
    return body.refresh_token;
  };
  const refreshTokens: string[] = [];

  const exchangeRequests: AutocannonRequest[] = [
    {
      method: 'POST',
      path: '/token',
      headers: FORM,
      // autocannon builds one request per connection more than it sends; an empty pool only ever feeds those.
      setupRequest: (request) => ({ ...request, body: new URLSearchParams({ ...EXCHANGE_GRANT, subject_token: subjects.pop() ?? 'pool-exhausted' }).toString() }),
    },
  ];
  const refreshRequests: AutocannonRequest[] = [
    {
      method: 'POST',
      path: '/token',
      headers: FORM,
      setupRequest: (request) => ({ ...request, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshTokens.shift() ?? 'tgr_pool-exhausted.x' }).toString() }),
      onResponse: (status, body) => {
        if (status !== 200) return;
        const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
        if (next) refreshTokens.push(next);
      },
    },
  ];

  const rounds: Record<string, Record<string, { load: LoadResult[]; cpu: number[]; store: number[] }>> = { exchange: {}, refresh: {} };
  const measure = async (operation: 'exchange' | 'refresh', connections: number, maxRequests: number, record: boolean) => {
    const cpuBefore = processCpuMs(server.pid);
    const storeBefore = await server.store.total();
    const result = await runLoad({ url: server.baseUrl, connections, maxRequests, maxSeconds: plan.seconds, requests: operation === 'exchange' ? exchangeRequests : refreshRequests });
    const cpuAfter = processCpuMs(server.pid);
    const storeAfter = await server.store.total();
    assertHealthy(`token ${operation} c=${connections}`, result);
    if (!record) return;
    const entry = (rounds[operation]![connections] ??= { load: [], cpu: [], store: [] });
    entry.load.push(result);
    if (cpuBefore !== undefined && cpuAfter !== undefined) entry.cpu.push((cpuAfter - cpuBefore) / result.ok);
    entry.store.push((storeAfter - storeBefore) / result.ok);
  };

  for (let round = -1; round < plan.rounds; round++) {
    for (const connections of plan.concurrencies) {
      const budget = round < 0 ? 2 * connections : plan.maxRequestsPerRound;
      await measure('exchange', connections, Math.max(connections, Math.min(budget, subjects.length - 2 * connections)), round >= 0);
      // One rotation chain per connection; a round cut short loses the tokens in flight, so top up before each.
      while (refreshTokens.length < connections) refreshTokens.push(await exchangeOnce());
      await measure('refresh', connections, budget, round >= 0);
    }
  }

  const byOperation: TokenCostFigures['byOperation'] = {};
  for (const [operation, perConcurrency] of Object.entries(rounds)) {
    byOperation[operation] = {};
    for (const [connections, entry] of Object.entries(perConcurrency)) {
      byOperation[operation][connections] = {
        rps: spread(entry.load.map((result) => result.rps)),
        p50: spread(entry.load.map((result) => result.p50)),
        cpuMs: spread(entry.cpu.length > 0 ? entry.cpu : [Number.NaN]),
        storeRequests: spread(entry.store),
      };
    }
  }
  return { byOperation };
}
