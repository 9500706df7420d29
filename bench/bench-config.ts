import { ConfigError, loadConfig, type TollgateConfigInput } from '../src/config/config';
import { defaultDevConfig } from '../src/local/default-config';
import type { DevIssuer } from '../src/local/dev-issuer';

/** Limits the bench must never hit: it measures the path, not the refusal. */
const UNLIMITED = 1_000_000;

export interface BenchConfigOptions {
  devIssuer: Pick<DevIssuer, 'githubIssuer' | 'clerkIssuer'>;
  upstreamUrl: string;
  /** The proxy's session cache; 0 turns it off. */
  sessionCacheSeconds: number;
}

/**
 * The config every Tollgate in the bench runs: the `npm start` dev config
 * (trusts the dev issuer, GitHub-like rules), a proxy to the bench upstream
 * with one route (`GET /**`, scope `orders:read`), rate limits out of reach,
 * and enough refreshes per CI session for the refresh load.
 *
 * Rate-limit settings are fitted to the schema in force: a key the schema
 * does not know (yet) is dropped, so the harness runs while the proxy and
 * token rate limits are still landing.
 */
export function benchConfig(options: BenchConfigOptions): TollgateConfigInput {
  const config: TollgateConfigInput = {
    ...defaultDevConfig(options.devIssuer),
    sessions: { ci: { maxRefreshes: 100_000 } },
    // BENCH_SIGNING_ALG=ES256|EdDSA measures the other access-token algorithms (docs/performance.md, "Signing algorithms").
    signing: { alg: (process.env.BENCH_SIGNING_ALG as 'RS256' | 'ES256' | 'EdDSA' | undefined) ?? 'RS256' },
    proxy: {
      upstreamUrl: options.upstreamUrl,
      routes: [{ methods: ['GET'], path: '/**', scopes: ['orders:read'] }],
      sessionCacheSeconds: options.sessionCacheSeconds,
    },
    rateLimit: {
      requestsPerMinute: UNLIMITED,
      tokenRequestsPerMinutePerSubject: UNLIMITED,
      tokenRequestsPerMinutePerIp: UNLIMITED,
    } as TollgateConfigInput['rateLimit'],
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      loadConfig(config);
      return config;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const unknown = error.problems.map((problem) => problem.match(/^rateLimit\.(\w+): unknown key$/)?.[1]).filter(Boolean) as string[];
      if (unknown.length !== error.problems.length) throw error;
      const limits = { ...(config.rateLimit as Record<string, number>) };
      for (const key of unknown) delete limits[key];
      config.rateLimit = limits as TollgateConfigInput['rateLimit'];
    }
  }
  throw new Error('bench config: could not fit the rate limits to the config schema');
}
