/**
 * The metric names Tollgate publishes (CloudWatch namespace `Tollgate`, one
 * per telemetry event type): the code emits them (`src/ports/telemetry.ts`
 * checks its events against this list) and the stack's alarms and dashboard
 * (`cdk/monitoring.ts`) name them.
 */
export const METRIC_NAMES = [
  'TokenIssued',
  'TokenRefreshed',
  'RefreshReuseDetected',
  'SessionTimedOut',
  'SessionRevoked',
  'TokenRejected',
  'ProxyRequest',
  'ProxyUpstreamLatency',
  'ProxyUpstreamTimeout',
  'ProxyRejected',
  'ProxyResponseInterrupted',
  'RateLimited',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
