import { performance } from 'node:perf_hooks';
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { percentile } from './stats';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Count bound of the run. */
  maxRequests: number;
  /** Time bound of the run. */
  maxSeconds: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Per-request hooks (a fresh body per request, reading each answer). */
  requests?: AutocannonRequest[];
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  /** 2xx responses: the ones throughput and latency are computed from. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  seconds: number;
  /** 2xx responses per second. */
  rps: number;
  /** Latency percentiles of the 2xx responses, in milliseconds (sub-millisecond precision). */
  p50: number;
  p99: number;
}

/**
 * Loopback load with autocannon, bounded in count (`amount`) and in time (a
 * timer that stops the run). Latencies come from autocannon's per-response
 * event, which carries the exact time in milliseconds; its own histogram
 * rounds to whole milliseconds, too coarse for a sub-millisecond target.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies = new Float64Array(options.maxRequests);
  let ok = 0;
  let responses = 0;
  const start = performance.now();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    amount: options.maxRequests,
    timeout: 10,
    // autocannon acts on stop() only at its next sample tick (1 s by default): tick often, so a run ends on time.
    sampleInt: 50,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    requests: options.requests,
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    responses += 1;
    if (statusCode >= 200 && statusCode < 300 && ok < latencies.length) latencies[ok++] = responseTime;
  });
  const timer = setTimeout(() => instance.stop(), options.maxSeconds * 1000);
  let result: AutocannonResult;
  try {
    result = await instance;
  } finally {
    clearTimeout(timer);
  }
  const seconds = (performance.now() - start) / 1000;
  const sorted = latencies.subarray(0, ok).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(stats.count);
  return {
    responses,
    ok,
    non2xx: responses - ok,
    errors: result.errors,
    statusCodes,
    seconds,
    rps: ok / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** Throws when more than 1% of a run's requests failed: the figures would describe the failure, not the path. */
export function assertHealthy(label: string, result: LoadResult): void {
  const bad = result.non2xx + result.errors;
  if (result.ok === 0 || bad > Math.max(1, result.responses * 0.01)) {
    throw new Error(`${label}: ${result.ok} ok, ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}), ${result.errors} errors`);
  }
}
