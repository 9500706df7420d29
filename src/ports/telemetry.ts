import type { RejectionReason } from '../domain/errors';
import type { TimeoutReason } from '../domain/session';
import type { ProxyErrorCode } from '../contract/error-codes';
import type { MetricName } from '../contract/metrics';

/** The `statusClass` dimension of `ProxyRequest`. */
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Why a streamed body stopped early: the `reason` dimension of `ProxyResponseInterrupted`. */
export type BodyInterruption = 'upstream_failed' | 'upstream_idle' | 'too_large' | 'client_gone';

/** Which limit refused a request: the `limit` dimension of `RateLimited`. */
export type RateLimitName = 'proxy_subject' | 'token_subject' | 'token_ip';

/** What happened, for metrics and the audit log. Dimensions come only from bounded sets. */
export type TollgateEvent =
  | { type: 'TokenIssued'; kind: string; trust: string; sid: string; sub: string }
  | { type: 'TokenRefreshed'; kind: string; sid: string; refreshCount: number }
  | { type: 'RefreshReuseDetected'; sid: string }
  | { type: 'SessionTimedOut'; reason: TimeoutReason; sid: string }
  | { type: 'SessionRevoked'; source: 'revoke' | 'reuse' | 'webhook' | 'config' | 'admin'; sid: string }
  | { type: 'TokenRejected'; reason: RejectionReason; endpoint: string; detail?: string }
  /**
   * One per request reaching the proxy (the proxy's one log line). `route` is
   * the matched rule's name or index, `none` before or without a match; never
   * the raw path.
   */
  | {
      type: 'ProxyRequest';
      route: string;
      statusClass: StatusClass;
      method: string;
      status: number;
      upstreamLatencyMs?: number;
      sub?: string;
      sid?: string;
      retried?: boolean;
      code?: ProxyErrorCode;
      detail?: string;
    }
  | { type: 'ProxyUpstreamLatency'; route: string; ms: number }
  | { type: 'ProxyUpstreamTimeout'; route: string }
  | { type: 'ProxyRejected'; code: ProxyErrorCode }
  /**
   * A streamed answer whose body stopped after its status was sent (the
   * client got a truncated body): the upstream failed or went quiet, the
   * body passed `proxy.maxResponseBytes`, or the client went away.
   */
  | { type: 'ProxyResponseInterrupted'; route: string; reason: BodyInterruption; status: number; bytes: number; sub?: string; sid?: string }
  | { type: 'RateLimited'; limit: RateLimitName };

/** Compile-time only: every event type is a metric name of the contract, and every metric name an event type. */
type Fits<Actual extends Expected, Expected> = Actual;
export type EventsAreMetrics = [Fits<TollgateEvent['type'], MetricName>, Fits<MetricName, TollgateEvent['type']>];

/** Where services report events; the HTTP layer turns them into Powertools metrics and log lines. */
export interface Telemetry {
  emit(event: TollgateEvent): void;
}

export const silentTelemetry: Telemetry = { emit: () => undefined };
