import { EXCHANGE_GRANT, formEvent } from '../events';
import type { InProcessTollgate } from '../in-process';
import type { BenchIssuer } from '../issuer';
import { spread, timedLoop, type Spread } from '../stats';
import type { ProxyInvoker } from './store-requests';

export interface OperationCpu {
  operation: string;
  /** CPU time per operation in this process (the store is another process), microseconds. */
  cpuMicros: Spread;
  /** Wall time per operation, milliseconds (includes the local store's and upstream's time). */
  wallMs: Spread;
}

/**
 * The inputs of the cost model: CPU time per operation of Tollgate's own code
 * (handler, services, SDK client), called in process with the store in a
 * child process, so the store's CPU is not counted. Subject tokens are
 * minted before each timed loop, outside the measurement.
 */
export async function benchOperationCpu(
  tollgate: InProcessTollgate,
  issuer: BenchIssuer,
  plan: { rounds: number; roundMs: number; maxOps: number; proxy?: ProxyInvoker },
): Promise<OperationCpu[]> {
  const post = (handler: InProcessTollgate['token'], path: string, parameters: Record<string, string>) => handler(formEvent(path, parameters));
  const expectOk = (label: string, result: { statusCode: number; body?: string }) => {
    if (result.statusCode !== 200) throw new Error(`operation cpu: ${label} answered ${result.statusCode} ${result.body ?? ''}`);
    return result;
  };
  const first = JSON.parse(expectOk('exchange', await post(tollgate.token, '/token', { ...EXCHANGE_GRANT, subject_token: await issuer.mintCi() })).body!) as {
    access_token: string;
    refresh_token: string;
  };
  let refreshToken = first.refresh_token;
  const accessToken = first.access_token;

  const results = new Map<string, { cpu: number[]; wall: number[] }>();
  const record = (operation: string, loop: { cpuMicrosPerOp: number; opsPerSecond: number }) => {
    const entry = results.get(operation) ?? { cpu: [], wall: [] };
    entry.cpu.push(loop.cpuMicrosPerOp);
    entry.wall.push(1000 / loop.opsPerSecond);
    results.set(operation, entry);
  };
  const bounds = { maxOps: plan.maxOps, maxMs: plan.roundMs };

  for (let round = -1; round < plan.rounds; round++) {
    const subjects = await Promise.all(Array.from({ length: plan.maxOps }, () => issuer.mintCi()));
    const exchange = await timedLoop(async () => {
      expectOk('exchange', await post(tollgate.token, '/token', { ...EXCHANGE_GRANT, subject_token: subjects.pop()! }));
    }, { maxOps: subjects.length, maxMs: plan.roundMs });
    const refresh = await timedLoop(async () => {
      const result = expectOk('refresh', await post(tollgate.token, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }));
      refreshToken = (JSON.parse(result.body!) as { refresh_token: string }).refresh_token;
    }, bounds);
    const verify = await timedLoop(async () => {
      expectOk('verify', await post(tollgate.verify, '/verify', { token: accessToken }));
    }, bounds);
    const proxy = plan.proxy
      ? await timedLoop(async () => {
          expectOk('proxy', await plan.proxy!(accessToken));
        }, bounds)
      : undefined;
    if (round < 0) continue;
    record('exchange', exchange);
    record('refresh', refresh);
    record('verify (cached)', verify);
    if (proxy) record('proxy (cached)', proxy);
  }
  return [...results].map(([operation, { cpu, wall }]) => ({ operation, cpuMicros: spread(cpu), wallMs: spread(wall) }));
}
