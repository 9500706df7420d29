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

/**
 * 1. Verify in process: `POST /verify` through the verify handler against
 * the floor every verifier pays, jose's `jwtVerify` of the same token with
 * the same key. Rounds alternate handler and floor so drift hits both.
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
  for (let round = 0; round < plan.rounds; round++) {
    // Alternate which goes first, so neither always runs right after a GC-heavy round.
    const order = round % 2 === 0 ? ['handler', 'floor'] : ['floor', 'handler'];
    for (const which of order) {
      if (which === 'handler') {
        const result = await timedLoop(handler, bounds(plan.roundMs));
        handlerRounds.push(result.opsPerSecond);
        handlerCpu.push(result.cpuMicrosPerOp);
        handlerCalls += result.ops;
      } else {
        const result = await timedLoop(floor, bounds(plan.roundMs));
        floorRounds.push(result.opsPerSecond);
        floorCpu.push(result.cpuMicrosPerOp);
      }
    }
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
