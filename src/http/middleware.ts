import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { AuthScheme } from '../domain/errors';
import { withStoreCallScope } from '../ports/store-call-scope';
import { mapError, type ErrorFamily, type Refusal } from './errors';
import type { HttpEvent, HttpResult } from './api-event';
import { corsMiddleware, type BrowserCors } from './cors-middleware';

export type HttpFunction = (event: HttpEvent, context: Context) => Promise<HttpResult>;

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/** How a route's errors leave the process (see `errorBoundary`). */
export interface ErrorBoundaryOptions {
  /** `oauth` (default) or `proxy` (RFC 6750 bodies with `code` and challenges). */
  family?: ErrorFamily;
  /** How the failed request presented its access token, when the handler learnt it (the challenge's scheme). */
  scheme?: (event: HttpEvent) => AuthScheme | undefined;
  /** Sees the decided refusal once, to decorate the response (CORS) and record it (the request's log line, metrics). */
  refused?: (event: HttpEvent, refusal: Refusal) => HttpResult;
}

/**
 * The one middleware that turns a thrown error into a response (`mapError`,
 * once per request), logging it without the request (never a token or an
 * Authorization header). Handlers throw; they never shape errors themselves.
 */
export function errorBoundary(logger: Logger, options: ErrorBoundaryOptions = {}): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: async (request) => {
      const refusal = mapError(request.error, logger, { family: options.family, scheme: options.scheme?.(request.event) });
      request.response = options.refused ? options.refused(request.event, refusal) : refusal.result;
    },
  };
}

/**
 * Publishes the metrics a request stored (and the cold-start metric once).
 * Unlike Powertools' `logMetrics`, it stays quiet for requests that stored
 * none (a `/verify` of an active token), instead of warning on every call.
 */
export function publishMetrics(metrics: Metrics): middy.MiddlewareObj<HttpEvent, HttpResult> {
  let coldStart = true;
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: async () => {
      if (coldStart) {
        coldStart = false;
        metrics.captureColdStartMetric();
      }
    },
    after: flush,
    onError: flush,
  };
}

/**
 * Sets API Gateway's request id as the log correlation id. Done by hand:
 * Powertools' `correlationIdPath` needs a JMESPath search function, which
 * would add a query engine to every bundle to read one field.
 */
export function correlateRequest(logger: Logger): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      const requestId = request.event.requestContext?.requestId;
      if (requestId) logger.setCorrelationId(requestId);
    },
  };
}

/**
 * The shared middy chain of every HTTP handler. Order matters because
 * `onError` runs in reverse: the error boundary (last) turns errors into
 * responses first, then metrics are flushed, then the logger's per-request
 * keys are reset. The request id is the correlation id; events are never
 * logged. Middy's early-timeout timer is off (`timeoutEarlyInMillis: 0`):
 * every dependency has its own deadline well inside the function timeout, and
 * the timer cost ~15 µs per request. `cors` makes the route browser-facing
 * (`cors-middleware.ts`): preflights answered, every answer decorated.
 */
export function httpHandler(observability: Observability, fn: HttpFunction, errors: ErrorBoundaryOptions = {}, cors?: BrowserCors) {
  const chain = middy<HttpEvent, HttpResult>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(observability.logger, { resetKeys: true, logEvent: false }))
    .use(correlateRequest(observability.logger))
    .use(publishMetrics(observability.metrics));
  // Browser-facing routes: before the boundary, so its onError adds CORS to the answer the boundary has shaped.
  if (cors) chain.use(corsMiddleware(cors));
  // One store-call scope per request: after a store call without an answer, the rest of the request's calls share one call's bound (src/ports/store-call-scope.ts).
  return chain.use(errorBoundary(observability.logger, errors)).handler((event, context) => withStoreCallScope(() => fn(event, context)));
}
