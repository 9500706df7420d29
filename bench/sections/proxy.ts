import { performance } from 'node:perf_hooks';
import { assertHealthy, runLoad, type LoadResult } from '../load';
import { differenceOf, percentile, ratioOf, spread, type Spread } from '../stats';

/** The optional what-if target's name (see bench/servers/tollgate-server.ts). */
const WHAT_IF = 'tollgate-warm-no-rate-limit-write';

export interface ProxyTarget {
  /** `direct`, `minimal`, `tollgate-warm`, `tollgate-cold`. */
  name: string;
  url: string;
  headers: Record<string, string>;
}

export interface TargetFigures {
  rps: Spread;
  p50: Spread;
  p99: Spread;
}

export interface ProxyFigures {
  /** Per concurrency, per target. */
  byConcurrency: Record<string, Record<string, TargetFigures>>;
  /** Tollgate's warm p50 minus the upstream's own p50, in milliseconds. */
  addedP50Warm: Record<string, Spread>;
  addedP50Cold: Record<string, Spread>;
  /** Tollgate (warm) req/s ÷ the minimal verify-and-forward proxy's. */
  throughputRatioWarm: Record<string, Spread>;
  throughputRatioCold: Record<string, Spread>;
  /**
   * p50 of the rate limiter's own store request (an `UpdateItem ADD` on the
   * guards table of the warm server's store), one at a time, measured in the
   * same rounds: the part of Tollgate's added latency that is the store's.
   */
  storeWriteP50?: Spread;
  /** The what-if target (warm, without the rate limiter's store write), when it ran. */
  addedP50WhatIf?: Record<string, Spread>;
  throughputRatioWhatIf?: Record<string, Spread>;
}

/** Median latency of `fn` called one at a time, bounded in count and time. */
async function sequentialP50(fn: () => Promise<unknown>, bounds: { maxOps: number; maxMs: number }): Promise<number> {
  const latencies: number[] = [];
  const deadline = performance.now() + bounds.maxMs;
  while (latencies.length < bounds.maxOps && performance.now() < deadline) {
    const start = performance.now();
    await fn();
    latencies.push(performance.now() - start);
  }
  return percentile(latencies.sort((a, b) => a - b), 50);
}

/**
 * 2. The proxy over HTTP: the same upstream reached directly, through the
 * minimal jose-and-forward proxy, and through Tollgate's local server with
 * the session cache warm and off. Within each round every target runs once
 * per concurrency, one after the other, so the machine's drift (it is
 * shared) lands on all of them alike.
 */
export async function benchProxy(
  targets: ProxyTarget[],
  plan: { rounds: number; seconds: number; maxRequests: number; concurrencies: number[]; warmupSeconds: number; storeWrite?: () => Promise<unknown> },
): Promise<ProxyFigures> {
  const storeRounds: number[] = [];
  const results: Record<string, Record<string, LoadResult[]>> = {};
  const run = async (target: ProxyTarget, connections: number, seconds: number) => {
    const result = await runLoad({ url: target.url, headers: target.headers, connections, maxRequests: plan.maxRequests, maxSeconds: seconds });
    assertHealthy(`proxy ${target.name} c=${connections}`, result);
    return result;
  };
  for (const target of targets) for (const connections of plan.concurrencies) await run(target, connections, plan.warmupSeconds);
  for (let round = 0; round < plan.rounds; round++) {
    for (const connections of plan.concurrencies) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const result = await run(target, connections, plan.seconds);
        ((results[connections] ??= {})[target.name] ??= []).push(result);
      }
    }
    if (plan.storeWrite) storeRounds.push(await sequentialP50(plan.storeWrite, { maxOps: 10_000, maxMs: (plan.seconds * 1000) / 2 }));
  }

  const byConcurrency: ProxyFigures['byConcurrency'] = {};
  for (const [connections, perTarget] of Object.entries(results)) {
    byConcurrency[connections] = {};
    for (const [name, rounds] of Object.entries(perTarget)) {
      byConcurrency[connections][name] = {
        rps: spread(rounds.map((result) => result.rps)),
        p50: spread(rounds.map((result) => result.p50)),
        p99: spread(rounds.map((result) => result.p99)),
      };
    }
  }
  const per = <T>(fn: (figures: Record<string, TargetFigures>) => T): Record<string, T> =>
    Object.fromEntries(Object.entries(byConcurrency).map(([connections, figures]) => [connections, fn(figures)]));
  return {
    byConcurrency,
    storeWriteP50: storeRounds.length > 0 ? spread(storeRounds) : undefined,
    addedP50Warm: per((figures) => differenceOf(figures['tollgate-warm']!.p50, figures.direct!.p50)),
    addedP50Cold: per((figures) => differenceOf(figures['tollgate-cold']!.p50, figures.direct!.p50)),
    throughputRatioWarm: per((figures) => ratioOf(figures['tollgate-warm']!.rps, figures.minimal!.rps)),
    throughputRatioCold: per((figures) => ratioOf(figures['tollgate-cold']!.rps, figures.minimal!.rps)),
    ...(targets.some((target) => target.name === WHAT_IF)
      ? {
          addedP50WhatIf: per((figures) => differenceOf(figures[WHAT_IF]!.p50, figures.direct!.p50)),
          throughputRatioWhatIf: per((figures) => ratioOf(figures[WHAT_IF]!.rps, figures.minimal!.rps)),
        }
      : {}),
  };
}
