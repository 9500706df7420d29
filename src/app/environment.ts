import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConfig, ConfigError, type TollgateConfig } from '../config/config';
import { EnvNames } from '../config/env-names';
import { epochSeconds, systemClock, type Clock } from '../domain/clock';
import { CachedSigningKeySource } from '../adapters/cached-signing-key-source';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { boundedRequestHandler, createDocumentClient, STORE_TIMEOUTS } from '../adapters/dynamo-client';
import { DynamoRateLimiter } from '../adapters/dynamo-rate-limiter';
import { DynamoReplayGuard } from '../adapters/dynamo-replay-guard';
import { SecretRefs } from '../adapters/secret-refs';
import { DynamoSessionStore } from '../adapters/dynamo-session-store';
import type { Observability } from '../http/middleware';
import { PowertoolsTelemetry } from '../observability/telemetry';
import { createServices, type Services } from './services';

type Env = Record<string, string | undefined>;

/** Reads the config from `TOLLGATE_CONFIG_JSON` (deployed) or the file named by `TOLLGATE_CONFIG`. */
export function configFromEnvironment(env: Env): TollgateConfig {
  const inline = env[EnvNames.configJson];
  if (inline) return parseConfig(inline, EnvNames.configJson);
  const file = env[EnvNames.configFile];
  if (!file) throw new ConfigError([`${EnvNames.configFile} or ${EnvNames.configJson} must be set`]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read (${(error as Error).message})`]);
  }
  return parseConfig(text, file);
}

/** `config.issuer`, else the public base URL the deployment is served on. */
export function resolveIssuer(config: TollgateConfig, env: Env): string {
  const issuer = config.issuer ?? env[EnvNames.publicBaseUrl];
  if (!issuer) throw new ConfigError([`issuer: required when ${EnvNames.publicBaseUrl} is not set`]);
  return issuer.replace(/\/+$/, '');
}

function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError([`${name} must be set`]);
  return value;
}

export function createObservability(): Observability {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'tollgate';
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Tollgate', serviceName }),
  };
}

/** Pre-built clients a caller may hand to `servicesFromEnvironment` instead of the ones it would build. */
export interface EnvironmentOverrides {
  /**
   * The DynamoDB document client every store adapter uses. The benchmark passes
   * one carrying a request-counting middleware; deployed functions never do.
   */
  documentClient?: DynamoDBDocumentClient;
}

/**
 * The composition root for deployed functions and the local server: concrete
 * adapters chosen by configuration (DynamoDB tables and endpoint, signing keys
 * from Secrets Manager or a file), built once per process.
 */
export function servicesFromEnvironment(env: Env, observability: Observability, clock: Clock = systemClock, overrides: EnvironmentOverrides = {}): Services {
  const config = configFromEnvironment(env);
  const issuer = resolveIssuer(config, env);
  const client = overrides.documentClient ?? createDocumentClient({ endpoint: env[EnvNames.dynamodbEndpoint], region: env.AWS_REGION });
  const nowSeconds = () => epochSeconds(clock);
  const sessions = new DynamoSessionStore(client, requireEnv(env, EnvNames.sessionsTable), nowSeconds);
  const replay = new DynamoReplayGuard(client, requireEnv(env, EnvNames.guardsTable), nowSeconds);
  let secretsManager: SecretsManagerClient | undefined;
  return createServices({
    config,
    issuer,
    sessions,
    replay,
    rateLimiter: new DynamoRateLimiter(client, requireEnv(env, EnvNames.guardsTable), clock),
    secrets: new SecretRefs({
      env,
      // Built on first use: only a config naming an aws-secretsmanager ref needs it.
      secretsManager: () => (secretsManager ??= createSecretsManagerClient(env)),
      clock,
    }),
    signingKeys: new CachedSigningKeySource(signingKeyReader(env), clock),
    telemetry: new PowertoolsTelemetry(observability.metrics, observability.logger),
    clock,
  });
}

/** Secrets Manager with the store's timeouts: a hanging read becomes a 503 in seconds, not a Lambda timeout. */
export function createSecretsManagerClient(env: Env): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: env[EnvNames.secretsManagerEndpoint],
    region: env.AWS_REGION,
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    requestHandler: boundedRequestHandler(),
  });
}

function signingKeyReader(env: Env): () => Promise<string> {
  const secretId = env[EnvNames.signingKeysSecretId];
  if (secretId) {
    // The store's timeouts: a hanging Secrets Manager at cold start is a 503 in seconds, and the next request reads again.
    const client = createSecretsManagerClient(env);
    return async () => {
      const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (!result.SecretString) throw new Error('signing key secret has no string value');
      return result.SecretString;
    };
  }
  const file = env[EnvNames.signingKeysFile];
  if (file) return () => readFile(file, 'utf8');
  throw new ConfigError([`${EnvNames.signingKeysSecretId} or ${EnvNames.signingKeysFile} must be set`]);
}
