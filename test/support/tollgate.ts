import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { TollgateConfigInput } from '../../src/config/config';
import type { Clock } from '../../src/domain/clock';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import type { Observability } from '../../src/http/middleware';
import { startTestStore, type TestStore } from './store';
import { postForm, type HttpAnswer } from './http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EXCHANGE = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

export interface TestTollgate extends LocalTollgate {
  store: TestStore;
  token(parameters: Record<string, string> | [string, string][], headers?: Record<string, string>): Promise<HttpAnswer>;
  exchange(subjectToken: string, extra?: Record<string, string>): Promise<HttpAnswer>;
  refresh(refreshToken: string, extra?: Record<string, string>): Promise<HttpAnswer>;
  verify(token: string): Promise<HttpAnswer>;
  revoke(token: string): Promise<HttpAnswer>;
}

/** Silent by default; `TOLLGATE_TEST_LOG_LEVEL=INFO` shows the server's logs. */
export function testObservability(): Observability {
  return {
    logger: new Logger({ serviceName: 'tollgate-test', logLevel: (process.env.TOLLGATE_TEST_LOG_LEVEL as 'INFO') ?? 'SILENT' }),
    metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-test' }),
  };
}

/**
 * The whole local Tollgate (same handlers as Lambda, API Gateway-shaped
 * events) on a loopback port, against a real DynamoDB-protocol store.
 */
export async function startTestTollgate(options: {
  config: TollgateConfigInput;
  clock?: Clock;
  observability?: Observability;
  /** A store this suite alone can stop (`store.close()` then means an outage). */
  ownStore?: boolean;
}): Promise<TestTollgate> {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const store = await startTestStore({ own: options.ownStore });
  const local = await startLocalTollgate({
    port: 0,
    config: options.config,
    dataDir: mkdtempSync(join(tmpdir(), 'tollgate-test-')),
    dynamodbEndpoint: store.endpoint,
    tables: store.tables,
    clock: options.clock,
    observability: options.observability ?? testObservability(),
  });
  const tokenUrl = `${local.baseUrl}/token`;
  return {
    ...local,
    store,
    token: (parameters, headers) => postForm(tokenUrl, parameters, headers),
    exchange: (subjectToken, extra = {}) => postForm(tokenUrl, { ...EXCHANGE, subject_token: subjectToken, ...extra }),
    refresh: (refreshToken, extra = {}) => postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }),
    verify: (token) => postForm(`${local.baseUrl}/verify`, { token }),
    revoke: (token) => postForm(`${local.baseUrl}/revoke`, { token }),
    async close() {
      await local.close();
      await store.close();
    },
  };
}
