import { readFile } from 'node:fs/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TollgateConfig } from '../config/config';
import { ConfigError } from '../config/config-error';
import { EnvNames, type EnvName } from '../contract/env-names';
import { systemClock, type Clock } from '../domain/clock';
import { GetSecretValueCommand, SecretsManagerClient } from '../adapters/aws-secrets-manager';
import { CachedSigningKeySource } from '../adapters/cached-signing-key-source';
import { sdkCredentials } from '../adapters/sdk-credentials';
import { SecretRefs } from '../adapters/secret-refs';
import { STORE_TIMEOUTS } from '../adapters/sdk-timeouts';
import type { Observability } from '../http/middleware';
import { PowertoolsTelemetry } from '../observability/telemetry';

/*
 * What a function is composed from besides its config: the process
 * environment (table names, endpoints, where the signing keys are), the
 * observability and the clock. The config itself arrives already validated
 * (`configFromStamp` in a Lambda, `configFromFile`/`loadConfig` locally), so
 * nothing here parses it. Nothing here imports the DynamoDB client either:
 * the store-backed pieces are in `./store`, so functions without a store do
 * not bundle it.
 */

/** Process environment variables (`process.env` when deployed). */
export type Env = Record<string, string | undefined>;

/** Everything `compose` needs apart from the config. */
export interface Runtime {
  env: Env;
  observability: Observability;
  /** @default systemClock */
  clock?: Clock;
  /** Used for issuers' discovery and JWKS and the upstream's token endpoint (tests pass one bound to loopback servers). */
  fetch?: typeof fetch;
  /**
   * The DynamoDB document client every store adapter uses. The benchmark passes
   * one carrying a request-counting middleware; deployed functions never do.
   */
  documentClient?: DynamoDBDocumentClient;
}

/** The variable's value; a `ConfigError` naming it when it is missing or empty. */
export function setting(runtime: Pick<Runtime, 'env'>, name: EnvName): string {
  const value = runtime.env[name];
  if (!value) throw new ConfigError([`${name} must be set`]);
  return value;
}

/** `config.issuer`, else the public base URL the deployment is served on. */
export function resolveIssuer(config: TollgateConfig, env: Env): string {
  const issuer = config.issuer ?? env[EnvNames.publicBaseUrl];
  if (!issuer) throw new ConfigError([`issuer: required when ${EnvNames.publicBaseUrl} is not set`]);
  return issuer.replace(/\/+$/, '');
}

/** The Powertools logger and metrics every handler's middleware chain uses. */
export function createObservability(env: Env = process.env): Observability {
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? 'tollgate';
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Tollgate', serviceName }),
  };
}

export function telemetryFor(observability: Observability): PowertoolsTelemetry {
  return new PowertoolsTelemetry(observability.metrics, observability.logger);
}

/**
 * Secrets Manager with the store's timeouts (a hanging read becomes a 503 in
 * seconds, not a Lambda timeout) and the environment's credentials only.
 */
export function createSecretsManagerClient(env: Env): SecretsManagerClient {
  const endpoint = env[EnvNames.secretsManagerEndpoint];
  return new SecretsManagerClient({
    endpoint,
    region: env.AWS_REGION,
    credentials: sdkCredentials(env, endpoint),
    maxAttempts: STORE_TIMEOUTS.maxAttempts,
    timeouts: STORE_TIMEOUTS,
  });
}

/** A Secrets Manager client built on first use (shared by the callers of one composition). */
function lazySecretsManager(env: Env): () => SecretsManagerClient {
  let client: SecretsManagerClient | undefined;
  return () => (client ??= createSecretsManagerClient(env));
}

/**
 * The signing keys: the Secrets Manager secret (deployed) or the file (local
 * mode) the environment names, cached by `CachedSigningKeySource`. The client
 * is built when the keys are first read (the first request), not at init.
 */
export function signingKeysFor(runtime: Runtime): CachedSigningKeySource {
  const { env } = runtime;
  const clock = runtime.clock ?? systemClock;
  const secretId = env[EnvNames.signingKeysSecretId];
  if (secretId) {
    const secretsManager = lazySecretsManager(env);
    return new CachedSigningKeySource(async () => {
      const result = await secretsManager().send(new GetSecretValueCommand({ SecretId: secretId }));
      if (!result.SecretString) throw new Error('signing key secret has no string value');
      return result.SecretString;
    }, clock);
  }
  const file = env[EnvNames.signingKeysFile];
  if (file) return new CachedSigningKeySource(() => readFile(file, 'utf8'), clock);
  throw new ConfigError([`${EnvNames.signingKeysSecretId} or ${EnvNames.signingKeysFile} must be set`]);
}

/**
 * Secret refs (`env:`, `aws-secretsmanager:`) for upstream credentials and
 * webhook signing secrets. The Secrets Manager client is built on first use:
 * only a config naming an aws-secretsmanager ref needs it.
 */
export function secretRefsFor(runtime: Runtime): SecretRefs {
  return new SecretRefs({ env: runtime.env, secretsManager: lazySecretsManager(runtime.env), clock: runtime.clock ?? systemClock });
}
