import { performance } from 'node:perf_hooks';

/** One figure over several rounds: the median is the figure, min and max show the spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every round's value, in the order measured. */
  rounds: number[];
}

/** Median, min and max of the rounds (the median of an even count is the mean of the middle two). */
export function spread(rounds: readonly number[]): Spread {
  if (rounds.length === 0) throw new Error('spread of no rounds');
  const sorted = [...rounds].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, rounds: [...rounds] };
}

/** Ratio of two spreads round by round (rounds were interleaved, so round i of each ran side by side). */
export function ratioOf(numerator: Spread, denominator: Spread): Spread {
  const count = Math.min(numerator.rounds.length, denominator.rounds.length);
  return spread(Array.from({ length: count }, (_, i) => numerator.rounds[i]! / denominator.rounds[i]!));
}

/** Difference of two spreads round by round. */
export function differenceOf(minuend: Spread, subtrahend: Spread): Spread {
  const count = Math.min(minuend.rounds.length, subtrahend.rounds.length);
  return spread(Array.from({ length: count }, (_, i) => minuend.rounds[i]! - subtrahend.rounds[i]!));
}

/** Nearest-rank percentile of ascending `sorted` values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface LoopResult {
  ops: number;
  seconds: number;
  opsPerSecond: number;
  /** Process CPU time (user + system, every thread: the crypto thread pool too) per operation, microseconds. */
  cpuMicrosPerOp: number;
}

/**
 * Runs `fn` one call after another until `maxOps` calls or `maxMs` have
 * passed, whichever comes first (every loop of the bench is bounded both ways).
 */
export async function timedLoop(fn: () => Promise<unknown>, bounds: { maxOps: number; maxMs: number }): Promise<LoopResult> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const deadline = start + bounds.maxMs;
  let ops = 0;
  // Check the clock every few calls: performance.now() is cheap but not free next to a 20 µs operation.
  while (ops < bounds.maxOps) {
    await fn();
    ops += 1;
    if ((ops & 7) === 0 && performance.now() >= deadline) break;
  }
  const seconds = (performance.now() - start) / 1000;
  return { ops, seconds, opsPerSecond: ops / seconds, cpuMicrosPerOp: cpuMicros(cpu) / ops };
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Runs `fn` with at most `concurrency` calls in flight, bounded like `timedLoop`. */
export async function concurrentLoop(
  fn: () => Promise<unknown>,
  bounds: { maxOps: number; maxMs: number; concurrency: number },
): Promise<LoopResult> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const deadline = start + bounds.maxMs;
  let started = 0;
  let done = 0;
  const worker = async () => {
    while (started < bounds.maxOps && performance.now() < deadline) {
      started += 1;
      await fn();
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: bounds.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { ops: done, seconds, opsPerSecond: done / seconds, cpuMicrosPerOp: cpuMicros(cpu) / done };
}
