import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnvNames } from '../config/env-names';
import { epochSeconds, systemClock, type Clock } from '../domain/clock';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoRateLimiter } from '../adapters/dynamo-rate-limiter';
import { DynamoReplayGuard } from '../adapters/dynamo-replay-guard';
import { SecretRefs } from '../adapters/secret-refs';
import { DynamoSessionStore } from '../adapters/dynamo-session-store';
import type { Observability } from '../http/middleware';
import { PowertoolsTelemetry } from '../observability/telemetry';
import { createSecretsManagerClient, keyDepsFromEnvironment, requireEnv, type Env } from './config-environment';
import {
  createProxyServices,
  createRevokeServices,
  createServices,
  createTokenServices,
  createVerifyServices,
  type ProxyServices,
  type RevokeServices,
  type Services,
  type TokenServices,
  type VerifyServices,
} from './services';

// The store-free half (config, issuer, observability, signing keys, the metadata function's services).
export {
  configFromEnvironment,
  createObservability,
  createSecretsManagerClient,
  metadataServicesFromEnvironment,
  resolveIssuer,
} from './config-environment';

/** Pre-built clients a caller may hand to the `…FromEnvironment` factories instead of the ones they would build. */
export interface EnvironmentOverrides {
  /**
   * The DynamoDB document client every store adapter uses. The benchmark passes
   * one carrying a request-counting middleware; deployed functions never do.
   */
  documentClient?: DynamoDBDocumentClient;
}

function documentClientFromEnvironment(env: Env, overrides: EnvironmentOverrides): DynamoDBDocumentClient {
  return overrides.documentClient ?? createDocumentClient({ endpoint: env[EnvNames.dynamodbEndpoint], region: env.AWS_REGION });
}

function sessionsFromEnvironment(env: Env, client: DynamoDBDocumentClient, clock: Clock): DynamoSessionStore {
  return new DynamoSessionStore(client, requireEnv(env, EnvNames.sessionsTable), () => epochSeconds(clock));
}

/** The guards table's two users: the replay guard (assertion `jti`s, DPoP proofs) and the rate limiter. */
function guardsFromEnvironment(env: Env, client: DynamoDBDocumentClient, clock: Clock, observability: Observability) {
  const table = requireEnv(env, EnvNames.guardsTable);
  return {
    replay: new DynamoReplayGuard(client, table, () => epochSeconds(clock)),
    // A failed background counter write (the proxy's) is logged, never lost silently.
    rateLimiter: new DynamoRateLimiter(client, table, clock, observability.logger),
  };
}

function telemetryFor(observability: Observability): PowertoolsTelemetry {
  return new PowertoolsTelemetry(observability.metrics, observability.logger);
}

/**
 * Upstream credential refs for the proxy. The Secrets Manager client is built
 * on first use: only a config naming an aws-secretsmanager ref needs it.
 */
function secretRefsFromEnvironment(env: Env, clock: Clock): SecretRefs {
  let secretsManager: SecretsManagerClient | undefined;
  return new SecretRefs({ env, secretsManager: () => (secretsManager ??= createSecretsManagerClient(env)), clock });
}

/*
 * The composition roots. Each reads the config (an invalid one fails the
 * init loudly) and builds the concrete adapters its services need (DynamoDB
 * tables and endpoint, signing keys from Secrets Manager or a file), once per
 * process. A Lambda entry module calls only its own function's factory, so its
 * bundle carries only what that function serves (docs/performance.md, "Bundles
 * per function"); the local server calls `servicesFromEnvironment`.
 */

/** `POST /verify`: reads sessions. */
export function verifyServicesFromEnvironment(env: Env, clock: Clock = systemClock, overrides: EnvironmentOverrides = {}): VerifyServices {
  const keys = keyDepsFromEnvironment(env, clock);
  return createVerifyServices({ ...keys, sessions: sessionsFromEnvironment(env, documentClientFromEnvironment(env, overrides), clock) });
}

/** `POST /revoke`: reads and ends sessions. */
export function revokeServicesFromEnvironment(
  env: Env,
  observability: Observability,
  clock: Clock = systemClock,
  overrides: EnvironmentOverrides = {},
): RevokeServices {
  const keys = keyDepsFromEnvironment(env, clock);
  const sessions = sessionsFromEnvironment(env, documentClientFromEnvironment(env, overrides), clock);
  return createRevokeServices({ ...keys, sessions, telemetry: telemetryFor(observability) });
}

/** `POST /token` (the token and refresh functions): sessions, the replay guard and the rate limiter. */
export function tokenServicesFromEnvironment(
  env: Env,
  observability: Observability,
  clock: Clock = systemClock,
  overrides: EnvironmentOverrides = {},
): TokenServices {
  const keys = keyDepsFromEnvironment(env, clock);
  const client = documentClientFromEnvironment(env, overrides);
  return createTokenServices({
    ...keys,
    sessions: sessionsFromEnvironment(env, client, clock),
    ...guardsFromEnvironment(env, client, clock, observability),
    telemetry: telemetryFor(observability),
  });
}

/** `ANY /proxy/{proxy+}`: reads sessions; DPoP markers and rate-limit counters in the guards table; upstream credentials. */
export function proxyServicesFromEnvironment(
  env: Env,
  observability: Observability,
  clock: Clock = systemClock,
  overrides: EnvironmentOverrides = {},
): ProxyServices {
  const keys = keyDepsFromEnvironment(env, clock);
  const client = documentClientFromEnvironment(env, overrides);
  return createProxyServices({
    ...keys,
    sessions: sessionsFromEnvironment(env, client, clock),
    ...guardsFromEnvironment(env, client, clock, observability),
    secrets: secretRefsFromEnvironment(env, clock),
    telemetry: telemetryFor(observability),
  });
}

/** Every service, sharing one session gate: the local server (every route in one process) and the benchmark. */
export function servicesFromEnvironment(env: Env, observability: Observability, clock: Clock = systemClock, overrides: EnvironmentOverrides = {}): Services {
  const keys = keyDepsFromEnvironment(env, clock);
  const client = documentClientFromEnvironment(env, overrides);
  return createServices({
    ...keys,
    sessions: sessionsFromEnvironment(env, client, clock),
    ...guardsFromEnvironment(env, client, clock, observability),
    secrets: secretRefsFromEnvironment(env, clock),
    telemetry: telemetryFor(observability),
  });
}
