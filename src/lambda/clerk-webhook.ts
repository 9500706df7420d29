import { clerkWebhooksFromEnvironment } from '../app/clerk-webhook-environment';
import { createObservability } from '../app/config-environment';
import { ConfigError } from '../config/config';
import { createClerkWebhookHandler } from '../handlers/webhook-handler';

/**
 * `POST /webhooks/clerk`. Built once per execution environment; deploying
 * this function without `webhooks.clerk` in the config is a mistake, so the
 * init fails loudly instead of answering 404 forever.
 */
export const observability = createObservability();
const webhooks = clerkWebhooksFromEnvironment(process.env, observability);
if (!webhooks) throw new ConfigError(['webhooks.clerk: required by the Clerk webhook function']);

export const handler = createClerkWebhookHandler(webhooks, observability);
