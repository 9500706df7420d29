import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { TollgateConfigInput } from '../../src/config/config';
import { startLocalTollgate } from '../../src/local/local-tollgate';
import { announceReady, exitWithParent } from './child-protocol';

/**
 * The local server as `npm start` runs it (embedded dynalite store, every
 * route through the Lambda handlers), alone in its process so the bench can
 * read its memory. Logging is silenced and metrics are disabled: the bench
 * measures the request path, not log I/O.
 *
 * Env: BENCH_CONFIG (the config document, JSON), BENCH_DATA_DIR (keys),
 * BENCH_STORE_ENDPOINT (a store in another process instead of the embedded one).
 */
async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const config = JSON.parse(process.env.BENCH_CONFIG ?? '') as TollgateConfigInput;
  const tollgate = await startLocalTollgate({
    port: 0,
    config,
    dataDir: process.env.BENCH_DATA_DIR,
    dynamodbEndpoint: process.env.BENCH_STORE_ENDPOINT || undefined,
    observability: {
      logger: new Logger({ serviceName: 'tollgate-bench', logLevel: (process.env.BENCH_LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT' }),
      metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-bench' }),
    },
  });
  announceReady({ baseUrl: tollgate.baseUrl, storeEndpoint: tollgate.storeEndpoint, tables: tollgate.tables });
  exitWithParent(() => tollgate.close());
}

main().catch((error: unknown) => {
  process.stderr.write(`tollgate bench server failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
