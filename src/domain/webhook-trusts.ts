import type { SessionKind } from './session';

/** The parts of the config that decide which trust entries Clerk's webhooks govern. */
export interface WebhookTrustSource {
  readonly trust: readonly { readonly name: string; readonly kind: SessionKind }[];
  readonly webhooks?: { readonly clerk?: { readonly trust?: readonly string[] } };
}

/** The trust entries whose sessions Clerk's webhook events govern: `webhooks.clerk.trust`, else every `user` entry; none without webhooks. */
export function clerkWebhookTrustNames(config: WebhookTrustSource): string[] {
  const clerk = config.webhooks?.clerk;
  if (!clerk) return [];
  return clerk.trust ? [...clerk.trust] : config.trust.filter((trust) => trust.kind === 'user').map((trust) => trust.name);
}
