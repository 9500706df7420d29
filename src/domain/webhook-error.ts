/** Why a webhook delivery was refused. Bounded: it is logged and could be a metric dimension. */
export type WebhookFailure =
  /** No `svix-id`, `svix-timestamp` or `svix-signature` header: unsigned. */
  | 'unsigned'
  /** A header twice, or not in its format. */
  | 'malformed_headers'
  /** `svix-timestamp` more than the tolerance away from now. */
  | 'stale'
  /** No listed `v1` signature matches the body under any configured secret. */
  | 'bad_signature'
  /** Signed, but not a Clerk event: not JSON, no `type`, no `data.id`, too large. */
  | 'malformed_body';

const STATUS: Record<WebhookFailure, 400 | 401> = {
  unsigned: 401,
  malformed_headers: 400,
  stale: 401,
  bad_signature: 401,
  malformed_body: 400,
};

/**
 * A refused delivery: 401 for anything about the signature (missing, wrong,
 * stale), 400 for anything malformed. The public description is fixed; the
 * reason and detail go to the log only.
 */
export class WebhookError extends Error {
  readonly code: WebhookFailure;
  readonly status: 400 | 401;
  readonly detail: string;

  constructor(code: WebhookFailure, detail: string) {
    super(code);
    this.name = 'WebhookError';
    this.code = code;
    this.status = STATUS[code];
    this.detail = detail;
  }

  /** The RFC 6749 §5.2-shaped body a sender sees. */
  get body(): { error: string; error_description: string } {
    return this.status === 401
      ? { error: 'invalid_signature', error_description: 'webhook signature verification failed' }
      : { error: 'invalid_request', error_description: 'malformed webhook delivery' };
  }
}
