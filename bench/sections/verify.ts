import { decodeProtectedHeader, jwtVerify } from 'jose';
import { ACCESS_TOKEN_TYP } from '../../src/services/access-tokens';
import { EXCHANGE_GRANT, formEvent } from '../events';
import type { InProcessTollgate } from '../in-process';
import type { BenchIssuer } from '../issuer';
import { ratioOf, spread, timedLoop, type Spread } from '../stats';

export interface VerifyFigures {
  /** Handler calls per second: API Gateway event in, response out, whole middy chain, session cached. */
  handlerOpsPerSecond: Spread;
  /** jose `jwtVerify` of the same token with the same key object, alone. */
  floorOpsPerSecond: Spread;
  /** handler ÷ floor, round by round. */
  ratio: Spread;
  /** CPU time per call (all threads), microseconds: steadier than ops/s on a shared machine. */
  handlerCpuMicros: Spread;
  floorCpuMicros: Spread;
  /** floor CPU per call ÷ handler CPU per call: the same ratio counted in CPU time. */
  cpuRatio: Spread;
  /** Store requests the handler made during the timed rounds (the cached session is re-read every `sessionCacheSeconds`). */
  storeRequestsDuringRounds: number;
  handlerCalls: number;
}

/** Length of one handler or floor slice within a round, milliseconds. */
const SLICE_MS = 50;

/**
 * 1. Verify in process: `POST /verify` through the verify handler against
 * the floor every verifier pays, jose's `jwtVerify` of the same token with
 * the same key. Rounds alternate 50 ms slices of handler and floor so drift
 * hits both alike.
 */
export async function benchVerify(tollgate: InProcessTollgate, issuer: BenchIssuer, plan: { rounds: number; roundMs: number; warmupMs: number }): Promise<VerifyFigures> {
  const exchanged = await tollgate.token(formEvent('/token', { ...EXCHANGE_GRANT, subject_token: await issuer.mintCi() }));
  if (exchanged.statusCode !== 200) throw new Error(`verify bench: exchange answered ${exchanged.statusCode} ${exchanged.body}`);
  const accessToken = (JSON.parse(exchanged.body) as { access_token: string }).access_token;

  const event = formEvent('/verify', { token: accessToken });
  const first = await tollgate.verify(event);
  if (first.statusCode !== 200 || !(JSON.parse(first.body) as { active?: boolean }).active) {
    throw new Error(`verify bench: the token is not active (${first.statusCode} ${first.body})`);
  }

  const { services } = tollgate;
  const kid = decodeProtectedHeader(accessToken).kid!;
  const keys = await services.signingKeys.load();
  const key = keys.verificationKey(kid)!;
  const alg = keys.publicJwks.find((jwk) => jwk.kid === kid)?.alg ?? 'RS256';
  const floorOptions = { issuer: services.issuer, audience: services.config.audience, algorithms: [alg], typ: ACCESS_TOKEN_TYP };
  const floor = () => jwtVerify(accessToken, key, floorOptions);
  await floor();

  const handler = async () => {
    const result = await tollgate.verify(event);
    if (result.statusCode !== 200) throw new Error(`verify bench: handler answered ${result.statusCode}`);
  };
  const bounds = (ms: number) => ({ maxOps: 2_000_000, maxMs: ms });
  await timedLoop(handler, bounds(plan.warmupMs));
  await timedLoop(floor, bounds(plan.warmupMs));

  const handlerRounds: number[] = [];
  const floorRounds: number[] = [];
  const handlerCpu: number[] = [];
  const floorCpu: number[] = [];
  let handlerCalls = 0;
  const before = tollgate.counter.snapshot();
  // Each round alternates short slices of handler and floor, so a burst of
  // load from elsewhere on the machine lands on both sides alike.
  const slices = Math.max(2, Math.round(plan.roundMs / SLICE_MS));
  for (let round = 0; round < plan.rounds; round++) {
    const sums = { handler: { ops: 0, seconds: 0, cpu: 0 }, floor: { ops: 0, seconds: 0, cpu: 0 } };
    for (let slice = 0; slice < slices; slice++) {
      const order = slice % 2 === 0 ? (['handler', 'floor'] as const) : (['floor', 'handler'] as const);
      for (const which of order) {
        const result = await timedLoop(which === 'handler' ? handler : floor, bounds(plan.roundMs / slices));
        sums[which].ops += result.ops;
        sums[which].seconds += result.seconds;
        sums[which].cpu += result.cpuMicrosPerOp * result.ops;
      }
    }
    handlerRounds.push(sums.handler.ops / sums.handler.seconds);
    floorRounds.push(sums.floor.ops / sums.floor.seconds);
    handlerCpu.push(sums.handler.cpu / sums.handler.ops);
    floorCpu.push(sums.floor.cpu / sums.floor.ops);
    handlerCalls += sums.handler.ops;
  }
  const after = tollgate.counter.snapshot();
  const handlerOpsPerSecond = spread(handlerRounds);
  const floorOpsPerSecond = spread(floorRounds);
  const handlerCpuMicros = spread(handlerCpu);
  const floorCpuMicros = spread(floorCpu);
  return {
    handlerOpsPerSecond,
    floorOpsPerSecond,
    ratio: ratioOf(handlerOpsPerSecond, floorOpsPerSecond),
    handlerCpuMicros,
    floorCpuMicros,
    cpuRatio: ratioOf(floorCpuMicros, handlerCpuMicros),
    storeRequestsDuringRounds: after.reads + after.writes - before.reads - before.writes,
    handlerCalls,
  };
}
