import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConfig, ConfigError, type TollgateConfig } from '../config/config';
import { EnvNames } from '../config/env-names';
import { systemClock, type Clock } from '../domain/clock';
import { CachedSigningKeySource } from '../adapters/cached-signing-key-source';
import { boundedRequestHandler, STORE_TIMEOUTS } from '../adapters/sdk-timeouts';
import type { Observability } from '../http/middleware';
import type { MetadataServices } from './services';

/*
 * What every function reads from its environment, apart from the store: the
 * config, the issuer, observability, the signing keys (Secrets Manager or a
 * file). Nothing here imports the DynamoDB client, so a function without a
 * store (metadata, key rotation) does not bundle it; the store-backed
 * composition roots are in `./environment`.
 */

/** Process environment variables (`process.env` when deployed). */
export type Env = Record<string, string | undefined>;

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

/** The variable's value; a `ConfigError` naming it when it is missing or empty. */
export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError([`${name} must be set`]);
  return value;
}

/** The Powertools logger and metrics every handler's middleware chain uses. */
export function createObservability(): Observability {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'tollgate';
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Tollgate', serviceName }),
  };
}

/** Config, issuer, clock and signing keys: what every API function starts from. */
export function keyDepsFromEnvironment(env: Env, clock: Clock) {
  const config = configFromEnvironment(env);
  return { config, issuer: resolveIssuer(config, env), clock, signingKeys: new CachedSigningKeySource(signingKeyReader(env), clock) };
}

/** `GET /.well-known/*`: config, issuer and signing keys; no store. */
export function metadataServicesFromEnvironment(env: Env, clock: Clock = systemClock): MetadataServices {
  const { config, issuer, signingKeys } = keyDepsFromEnvironment(env, clock);
  return { config, issuer, signingKeys };
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
