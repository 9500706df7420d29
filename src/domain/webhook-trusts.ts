import type { TollgateConfig } from '../config/config';

/** The trust entries whose sessions Clerk's webhook events govern: `webhooks.clerk.trust`, else every `user` entry; none without webhooks. */
export function clerkWebhookTrustNames(config: TollgateConfig): string[] {
  const clerk = config.webhooks?.clerk;
  if (!clerk) return [];
  return clerk.trust ? [...clerk.trust] : config.trust.filter((trust) => trust.kind === 'user').map((trust) => trust.name);
}
