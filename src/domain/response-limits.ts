/**
 * Lambda's cap on a streamed response (`InvokeWithResponseStream`): 200 MB.
 * Counted here in decimal megabytes, the smaller reading, so a body at the
 * limit fits whichever unit the quota means.
 */
export const STREAMED_RESPONSE_LIMIT_BYTES = 200_000_000;

/** `proxy.maxResponseBytes` by default: every body a streamed Lambda response can carry. */
export const DEFAULT_MAX_RESPONSE_BYTES = STREAMED_RESPONSE_LIMIT_BYTES;

/**
 * `proxy.responseIdleTimeoutMs` by default: a streamed body that sends
 * nothing for a minute is cut. Server-sent event streams send a comment or
 * event well within that; API Gateway's own idle timeout (Regional and
 * private endpoints) is 5 minutes, the highest this may be set.
 */
export const DEFAULT_RESPONSE_IDLE_TIMEOUT_MS = 60_000;
export const MAX_RESPONSE_IDLE_TIMEOUT_MS = 300_000;
