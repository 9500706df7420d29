import { header, headerValues, bodyBytes } from '../http/api-event';
import { httpHandler, type Observability } from '../http/middleware';
import { json } from '../http/responses';
import { MAX_CLERK_EVENT_BYTES } from '../domain/clerk-event';
import type { ClerkWebhookService } from '../services/clerk-webhook-service';
import { WebhookError } from '../domain/webhook-error';

/** The Svix headers, each of which must appear at most once. */
const SVIX_HEADERS = ['svix-id', 'svix-timestamp', 'svix-signature'] as const;

/**
 * `POST /webhooks/clerk`: Clerk's Svix-signed events end Tollgate sessions
 * (see `ClerkWebhookService`). 200 for a handled, duplicate or ignored event;
 * 401 for an unsigned, badly signed or stale delivery; 400 for a malformed
 * one; 503 when the store or the signing secret cannot be read (Svix retries);
 * 404 when `webhooks.clerk` is not configured. Refusals are thrown as
 * `WebhookError`s and shaped by the chain's one error boundary.
 */
export function createClerkWebhookHandler(webhooks: ClerkWebhookService | undefined, observability: Observability) {
  const { logger } = observability;
  return httpHandler(observability, async (event) => {
    if (!webhooks) return json(404, { error: 'not_found', error_description: 'no such resource' });
    if ((event.httpMethod ?? 'POST').toUpperCase() !== 'POST') {
      return json(405, { error: 'invalid_request', error_description: 'use POST' }, { Allow: 'POST' });
    }
    for (const name of SVIX_HEADERS) {
      if (headerValues(event, name).length > 1) throw new WebhookError('malformed_headers', `${name} sent more than once`);
    }
    const body = bodyBytes(event);
    if (body.length > MAX_CLERK_EVENT_BYTES) throw new WebhookError('malformed_body', 'body is too large');
    const result = await webhooks.receive({
      id: header(event, 'svix-id'),
      timestamp: header(event, 'svix-timestamp'),
      signature: header(event, 'svix-signature'),
      body,
    });
    logger.info('clerk webhook handled', { ...result });
    return json(200, { received: true, outcome: result.outcome });
  });
}
