import { composeClerkWebhook } from '../app/compose-clerk-webhook';
import { ConfigError } from '../config/config-error';
import { createClerkWebhookHandler } from '../handlers/webhook-handler';
import { config, observability, runtime } from './runtime';

/**
 * `POST /webhooks/clerk`. Built once per execution environment; deploying
 * this function without `webhooks.clerk` in the config is a mistake, so the
 * init fails loudly instead of answering 404 forever.
 */
const webhooks = composeClerkWebhook(config, runtime);
if (!webhooks) throw new ConfigError(['webhooks.clerk: required by the Clerk webhook function']);

export { observability };
export const handler = createClerkWebhookHandler(webhooks, observability);
