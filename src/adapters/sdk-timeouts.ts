import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Store timeouts and retry budget, chosen so a dead or hanging store turns into
 * a 503 within a few seconds (well inside API Gateway's 29 s and the functions'
 * timeouts) instead of the SDK's defaults (no request timeout at all, 3
 * attempts): connect 1 s, each request 1.2 s, 2 attempts in all. One call
 * gives up after at most 2 × (1 s + 1.2 s) plus the SDK's backoff before its
 * retry (up to 50 ms, or up to 1 s after a throttling error). Secrets Manager
 * reads use the same numbers, and so does the store adapters' lean DynamoDB
 * transport (`DynamoJsonTransport`), whose request timeout also covers the
 * answer's body.
 */
export const STORE_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 1_200, maxAttempts: 2 } as const;

/**
 * The SDK request handler with `STORE_TIMEOUTS`. `throwOnRequestTimeout` is
 * what makes the request timeout a timeout: without it, @smithy/node-http-handler
 * only logs a warning when a request exceeds it and keeps waiting (a hanging
 * store would hold the request until the Lambda timeout).
 */
export function boundedRequestHandler(timeouts: { connectionTimeoutMs: number; requestTimeoutMs: number } = STORE_TIMEOUTS): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: timeouts.connectionTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    throwOnRequestTimeout: true,
  });
}
