import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, type TollgateConfig } from '../config/config';
import { EnvNames } from '../config/env-names';
import { epochSeconds, systemClock, type Clock } from '../domain/clock';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoReplayGuard } from '../adapters/dynamo-replay-guard';
import { DynamoSessionStore } from '../adapters/dynamo-session-store';
import { SecretRefs } from '../adapters/secret-refs';
import type { Observability } from '../http/middleware';
import { PowertoolsTelemetry } from '../observability/telemetry';
import type { ReplayGuard } from '../ports/replay-guard';
import type { SecretResolver } from '../ports/secret-resolver';
import type { Telemetry } from '../ports/telemetry';
import { ClerkWebhookService, type ClerkWebhookDeps } from '../services/clerk-webhook-service';
import { configFromEnvironment, createSecretsManagerClient } from './config-environment';
import { clerkWebhookTrustNames } from '../domain/webhook-trusts';

type Env = Record<string, string | undefined>;

export interface ClerkWebhookWiring {
  sessions: ClerkWebhookDeps['sessions'];
  replay: ReplayGuard;
  secrets: SecretResolver;
  telemetry: Telemetry;
  clock: Clock;
  onSessionEnded?: (sid: string) => void;
}

/**
 * The Clerk webhook service for a config, or undefined when it has no
 * `webhooks.clerk`. Its trust entries are `webhooks.clerk.trust`, else every
 * `user` entry (the config schema checks the names).
 */
export function createClerkWebhookService(config: TollgateConfig, wiring: ClerkWebhookWiring): ClerkWebhookService | undefined {
  const clerk = config.webhooks?.clerk;
  if (!clerk) return undefined;
  return new ClerkWebhookService({
    ...wiring,
    signingSecretRef: clerk.signingSecret,
    trustNames: clerkWebhookTrustNames(config),
  });
}

/**
 * The composition root of the Clerk webhook function: the sessions table
 * (Query on its GSIs, UpdateItem), the guards table (PutItem/DeleteItem of
 * `webhook#clerk#<svix-id>` markers) and the signing secret's ref. No signing
 * keys and no issuer keys: this function never issues or verifies a token.
 */
export function clerkWebhooksFromEnvironment(
  env: Env,
  observability: Observability,
  clock: Clock = systemClock,
  options: { onSessionEnded?: (sid: string) => void } = {},
): ClerkWebhookService | undefined {
  const config = configFromEnvironment(env);
  if (!config.webhooks?.clerk) return undefined;
  const client = createDocumentClient({ endpoint: env[EnvNames.dynamodbEndpoint], region: env.AWS_REGION });
  const nowSeconds = () => epochSeconds(clock);
  let secretsManager: SecretsManagerClient | undefined;
  return createClerkWebhookService(config, {
    sessions: new DynamoSessionStore(client, requireEnv(env, EnvNames.sessionsTable), nowSeconds),
    replay: new DynamoReplayGuard(client, requireEnv(env, EnvNames.guardsTable), nowSeconds),
    secrets: new SecretRefs({
      env,
      // Built on first use: an env: ref (local mode) needs no client.
      secretsManager: () => (secretsManager ??= createSecretsManagerClient(env)),
      clock,
    }),
    telemetry: new PowertoolsTelemetry(observability.metrics, observability.logger),
    clock,
    onSessionEnded: options.onSessionEnded,
  });
}

function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError([`${name} must be set`]);
  return value;
}
