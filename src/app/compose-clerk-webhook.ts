import type { TollgateConfig } from '../config/config';
import { systemClock, type Clock } from '../domain/clock';
import { clerkWebhookTrustNames } from '../domain/webhook-trusts';
import type { ReplayGuard } from '../ports/replay-guard';
import type { SecretResolver } from '../ports/secret-resolver';
import type { Telemetry } from '../ports/telemetry';
import { ClerkWebhookService, type ClerkWebhookDeps } from '../services/clerk-webhook-service';
import { secretRefsFor, telemetryFor, type Runtime } from './runtime';
import { storeFor } from './store';

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
 * Undefined when the config has no `webhooks.clerk`.
 */
export function composeClerkWebhook(
  config: TollgateConfig,
  runtime: Runtime,
  options: { onSessionEnded?: (sid: string) => void } = {},
): ClerkWebhookService | undefined {
  if (!config.webhooks?.clerk) return undefined;
  const store = storeFor(runtime);
  return createClerkWebhookService(config, {
    sessions: store.sessions(),
    replay: store.replay(),
    secrets: secretRefsFor(runtime),
    telemetry: telemetryFor(runtime.observability),
    clock: runtime.clock ?? systemClock,
    onSessionEnded: options.onSessionEnded,
  });
}
