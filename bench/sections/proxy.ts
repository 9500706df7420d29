import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { AutocannonRequest } from 'autocannon';
import { assertHealthy, runLoad, type LoadResult } from '../load';
import { differenceOf, percentile, ratioOf, spread, type Spread } from '../stats';

/** The warm server again, each request from another of many subjects (one rate-limit key each). */
export const MANY_SUBJECTS = 'tollgate-warm-many-subjects';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** The store's own count of the requests it received (bench/servers/store.ts), whoever sent them. */
export interface StoreDoor {
  total(): Promise<number>;
}

/** A store child's door, read over its counts port. */
export function storeDoor(countsUrl: string): StoreDoor {
  return { total: async () => ((await (await fetch(countsUrl)).json()) as { total: number }).total };
}

export interface ProxyTarget {
  /** `direct`, `minimal`, `tollgate-warm`, `tollgate-cold`, the many-subjects run. */
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The serving process: its CPU time per answered request is measured (none for the upstream itself). */
  pid?: number;
  /** The store the server talks to, counted at its door: store requests per answered request. */
  store?: StoreDoor;
  /** Per-request hooks (a different subject's token per request). */
  requests?: AutocannonRequest[];
}

export interface TargetFigures {
  rps: Spread;
  p50: Spread;
  p99: Spread;
  /** Server CPU (user + system, the whole process, /proc) per 2xx answer, milliseconds. */
  cpuMs?: Spread;
  /** Requests the store received per 2xx answer. */
  storeRequests?: Spread;
}

export interface StreamingMemory {
  bodyBytes: number;
  /** VmHWM after a warm-up of small proxied requests. */
  idlePeakRss: number;
  /** VmHWM once the body went through. */
  afterPeakRss: number;
  /** The rise: what streaming the body cost in memory. */
  rise: number;
  seconds: number;
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
  /** Tollgate (warm) CPU per request ÷ the minimal proxy's, round by round. */
  cpuRatioWarm: Record<string, Spread>;
  /** The same with a different subject per request. */
  cpuRatioManySubjects?: Record<string, Spread>;
  throughputRatioManySubjects?: Record<string, Spread>;
}

/** CPU time (user + system) a process has used, milliseconds; undefined off Linux. */
export function processCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** The headers a target's per-request hook would send first (the many-subjects run sets its token there). */
function firstHeaders(target: ProxyTarget): Record<string, string> {
  const setup = target.requests?.[0]?.setupRequest as ((request: { headers: Record<string, string> }) => { headers?: Record<string, string> }) | undefined;
  return setup ? (setup({ headers: { ...target.headers } }).headers ?? target.headers) : target.headers;
}

/** One load run with the server's CPU time and the store requests it caused, per 2xx answer. */
async function measured(target: ProxyTarget, load: () => Promise<LoadResult>): Promise<{ result: LoadResult; cpuMs?: number; storeRequests?: number }> {
  const cpuBefore = target.pid === undefined ? undefined : processCpuMs(target.pid);
  const storeBefore = await target.store?.total();
  const result = await load();
  const cpuAfter = target.pid === undefined ? undefined : processCpuMs(target.pid);
  const storeAfter = await target.store?.total();
  return {
    result,
    cpuMs: cpuBefore === undefined || cpuAfter === undefined || result.ok === 0 ? undefined : (cpuAfter - cpuBefore) / result.ok,
    storeRequests: storeBefore === undefined || storeAfter === undefined || result.ok === 0 ? undefined : (storeAfter - storeBefore) / result.ok,
  };
}

/**
 * 2. The proxy over HTTP: the same upstream reached directly, through the
 * minimal jose-and-forward proxy, and through Tollgate's local server with
 * the session cache warm and off, its store (dynalite) in a process of its
 * own, so the store's CPU is not charged to Tollgate. Each run also reads
 * the serving process's CPU time and the store's door count, so CPU per
 * request and store requests per request sit next to latency and
 * throughput. Within each round every target runs once per concurrency, one
 * after the other, so the machine's drift (it is shared) lands on all of
 * them alike; the ratios are taken round by round.
 */
export async function benchProxy(targets: ProxyTarget[], plan: { rounds: number; seconds: number; maxRequests: number; concurrencies: number[]; warmupSeconds: number }): Promise<ProxyFigures> {
  const results: Record<string, Record<string, { load: LoadResult[]; cpu: number[]; store: number[] }>> = {};
  const run = async (target: ProxyTarget, connections: number, seconds: number) => {
    const outcome = await measured(target, () =>
      runLoad({ url: target.url, headers: target.headers, requests: target.requests, connections, maxRequests: plan.maxRequests, maxSeconds: seconds }),
    );
    assertHealthy(`proxy ${target.name} c=${connections}`, outcome.result);
    return outcome;
  };
  // One request each first: a server's first answer (keys, store connections, the first rate-limit claim) is no load figure.
  for (const target of targets) {
    const first = await fetch(target.url, { headers: target.headers.authorization ? target.headers : firstHeaders(target) });
    await first.arrayBuffer();
    if (first.status !== 200) throw new Error(`proxy ${target.name}: the first request answered ${first.status}`);
  }
  for (const target of targets) for (const connections of plan.concurrencies) await run(target, connections, plan.warmupSeconds);
  for (let round = 0; round < plan.rounds; round++) {
    for (const connections of plan.concurrencies) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const outcome = await run(target, connections, plan.seconds);
        const entry = ((results[connections] ??= {})[target.name] ??= { load: [], cpu: [], store: [] });
        entry.load.push(outcome.result);
        if (outcome.cpuMs !== undefined) entry.cpu.push(outcome.cpuMs);
        if (outcome.storeRequests !== undefined) entry.store.push(outcome.storeRequests);
      }
    }
  }

  const byConcurrency: ProxyFigures['byConcurrency'] = {};
  for (const [connections, perTarget] of Object.entries(results)) {
    byConcurrency[connections] = {};
    for (const [name, rounds] of Object.entries(perTarget)) {
      byConcurrency[connections][name] = {
        rps: spread(rounds.load.map((result) => result.rps)),
        p50: spread(rounds.load.map((result) => result.p50)),
        p99: spread(rounds.load.map((result) => result.p99)),
        ...(rounds.cpu.length === rounds.load.length ? { cpuMs: spread(rounds.cpu) } : {}),
        ...(rounds.store.length === rounds.load.length ? { storeRequests: spread(rounds.store) } : {}),
      };
    }
  }
  const per = <T>(fn: (figures: Record<string, TargetFigures>) => T): Record<string, T> =>
    Object.fromEntries(Object.entries(byConcurrency).map(([connections, figures]) => [connections, fn(figures)]));
  const cpuRatio = (name: string) => per((figures) => ratioOf(figures[name]!.cpuMs!, figures.minimal!.cpuMs!));
  const has = (name: string) => targets.some((target) => target.name === name);
  const cpuKnown = Object.values(byConcurrency).every((figures) => figures['tollgate-warm']?.cpuMs && figures.minimal?.cpuMs);
  return {
    byConcurrency,
    addedP50Warm: per((figures) => differenceOf(figures['tollgate-warm']!.p50, figures.direct!.p50)),
    addedP50Cold: per((figures) => differenceOf(figures['tollgate-cold']!.p50, figures.direct!.p50)),
    throughputRatioWarm: per((figures) => ratioOf(figures['tollgate-warm']!.rps, figures.minimal!.rps)),
    throughputRatioCold: per((figures) => ratioOf(figures['tollgate-cold']!.rps, figures.minimal!.rps)),
    cpuRatioWarm: cpuKnown ? cpuRatio('tollgate-warm') : {},
    ...(has(MANY_SUBJECTS)
      ? {
          throughputRatioManySubjects: per((figures) => ratioOf(figures[MANY_SUBJECTS]!.rps, figures.minimal!.rps)),
          ...(cpuKnown ? { cpuRatioManySubjects: cpuRatio(MANY_SUBJECTS) } : {}),
        }
      : {}),
  };
}

/**
 * Memory while streaming: a fresh Tollgate server (no other load has raised
 * its peak) serves a few small proxied requests, then one `bodyBytes` answer
 * read by a client as fast as it goes; the rise of its peak RSS (VmHWM) is
 * what the body cost. A buffering proxy rises by about the body's size.
 */
export async function benchStreamingMemory(
  server: { memory(): { peakRss: number } | undefined },
  request: { smallUrl: string; bulkUrl: string; headers: Record<string, string>; bodyBytes: number },
): Promise<StreamingMemory | { unavailable: string }> {
  for (let i = 0; i < 50; i++) {
    const warm = await fetch(request.smallUrl, { headers: request.headers });
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`streaming memory: warm-up answered ${warm.status}`);
  }
  const idle = server.memory();
  if (!idle) return { unavailable: 'no /proc on this machine' };
  const started = performance.now();
  const response = await fetch(request.bulkUrl, { headers: request.headers });
  if (response.status !== 200 || !response.body) throw new Error(`streaming memory: the bulk answer was ${response.status}`);
  let received = 0;
  for await (const chunk of response.body) received += (chunk as Uint8Array).length;
  const seconds = (performance.now() - started) / 1000;
  if (received !== request.bodyBytes) throw new Error(`streaming memory: got ${received} of ${request.bodyBytes} bytes`);
  const after = server.memory()!;
  return { bodyBytes: received, idlePeakRss: idle.peakRss, afterPeakRss: after.peakRss, rise: after.peakRss - idle.peakRss, seconds };
}

/** Median latency of `fn` called one at a time, bounded in count and time. */
export async function sequentialP50(fn: () => Promise<unknown>, bounds: { maxOps: number; maxMs: number }): Promise<number> {
  const latencies: number[] = [];
  const deadline = performance.now() + bounds.maxMs;
  while (latencies.length < bounds.maxOps && performance.now() < deadline) {
    const start = performance.now();
    await fn();
    latencies.push(performance.now() - start);
  }
  return percentile(latencies.sort((a, b) => a - b), 50);
}
