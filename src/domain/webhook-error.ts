import { CodedError } from './errors';

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
 * A refused delivery, by code: 401 for anything about the signature
 * (missing, wrong, stale), 400 for anything malformed. The public body is
 * decided at the one error boundary (`http/errors.ts`); the code and detail
 * go to the log only.
 */
export class WebhookError extends CodedError<WebhookFailure> {
  readonly status: 400 | 401;

  constructor(code: WebhookFailure, detail: string) {
    super('WebhookError', code, detail);
    this.status = STATUS[code];
  }
}
