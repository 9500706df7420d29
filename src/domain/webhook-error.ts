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

/**
 * A refused delivery, by code. The public face (401 for anything about the
 * signature, 400 for anything malformed, a fixed description) is decided at
 * the one error boundary, `http/errors.ts`; the code and detail go to the log
 * only.
 */
export class WebhookError extends Error {
  readonly code: WebhookFailure;
  readonly detail: string;

  constructor(code: WebhookFailure, detail: string) {
    super(code);
    this.name = 'WebhookError';
    this.code = code;
    this.detail = detail;
  }
}
