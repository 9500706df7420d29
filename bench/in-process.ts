import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createDocumentClient } from '../src/adapters/dynamo-client';
import { generateSigningKeyDocument } from '../src/adapters/jwk-set';
import { compose } from '../src/app/compose';
import { configFromEnvironment } from '../src/app/config-file';
import type { Services } from '../src/app/services';
import { EnvNames } from '../src/contract/env-names';
import type { HttpEvent, HttpResult } from '../src/http/api-event';
import type { Observability } from '../src/http/middleware';
import { createRevokeHandler } from '../src/handlers/revoke-handler';
import { createTokenHandler } from '../src/handlers/token-handler';
import { createVerifyHandler } from '../src/handlers/verify-handler';
import { startEmbeddedStore } from '../src/local/embedded-store';
import { ensureTables } from '../src/local/tables';
import { benchConfig } from './bench-config';
import type { BenchIssuer } from './issuer';
import { lambdaContext } from './events';
import { StoreRequestCounter } from './store-request-counter';

export type BenchHandler = (event: HttpEvent) => Promise<HttpResult>;

export interface InProcessTollgate {
  services: Services;
  observability: Observability;
  counter: StoreRequestCounter;
  documentClient: DynamoDBDocumentClient;
  tables: { sessions: string; guards: string };
  token: BenchHandler;
  verify: BenchHandler;
  revoke: BenchHandler;
  close(): Promise<void>;
}

/**
 * Powertools kept quiet: logger at SILENT and metrics disabled
 * (`POWERTOOLS_METRICS_DISABLED=true`), so the figures are the request path
 * and not log or EMF output. The calls into the logger and metrics still run.
 */
export function quietObservability(): Observability {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return {
    logger: new Logger({ serviceName: 'tollgate-bench', logLevel: (process.env.BENCH_LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT' }),
    metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-bench' }),
  };
}

/**
 * Tollgate's services composed as a Lambda function composes them
 * (`compose`, the config validated with the full schema), in this process, with a document client that
 * counts every store request. Handlers are the ones the Lambda entry modules
 * export, called with API Gateway events. The store is `storeEndpoint` (the
 * bench runs dynalite in a child process, so this process's CPU time is
 * Tollgate's alone), else an embedded dynalite.
 */
export async function startInProcessTollgate(options: { issuer: BenchIssuer; dataDir: string; upstreamUrl: string; storeEndpoint?: string }): Promise<InProcessTollgate> {
  const store = options.storeEndpoint ? { endpoint: options.storeEndpoint, close: async () => undefined } : await startEmbeddedStore();
  const tables = { sessions: 'bench-sessions', guards: 'bench-guards' };
  const admin = new DynamoDBClient({ endpoint: store.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureTables(admin, tables);
  admin.destroy();
  const keysFile = join(options.dataDir, 'in-process-signing-keys.json');
  writeFileSync(keysFile, JSON.stringify(await generateSigningKeyDocument('RS256')), { mode: 0o600 });

  const config = benchConfig({ devIssuer: options.issuer.devIssuer, upstreamUrl: options.upstreamUrl, sessionCacheSeconds: 5 });
  const env: Record<string, string | undefined> = {
    [EnvNames.configJson]: JSON.stringify(config),
    [EnvNames.publicBaseUrl]: 'http://127.0.0.1:8787',
    [EnvNames.sessionsTable]: tables.sessions,
    [EnvNames.guardsTable]: tables.guards,
    [EnvNames.dynamodbEndpoint]: store.endpoint,
    [EnvNames.signingKeysFile]: keysFile,
    AWS_REGION: 'local',
  };
  const documentClient = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  const counter = new StoreRequestCounter(documentClient);
  const observability = quietObservability();
  const services = compose(configFromEnvironment(env), { env, observability, documentClient });
  const wrap = (name: string, handler: (event: HttpEvent, context: ReturnType<typeof lambdaContext>) => Promise<HttpResult>): BenchHandler => {
    const context = lambdaContext(name);
    return (event) => handler(event, context);
  };
  return {
    services,
    observability,
    counter,
    documentClient,
    tables,
    token: wrap('tollgate-token', createTokenHandler(services, observability, { grants: 'both' })),
    verify: wrap('tollgate-verify', createVerifyHandler(services, observability)),
    revoke: wrap('tollgate-revoke', createRevokeHandler(services, observability)),
    async close() {
      documentClient.destroy();
      await store.close();
    },
  };
}
