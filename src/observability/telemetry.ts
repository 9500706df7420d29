import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Telemetry, TollgateEvent } from '../ports/telemetry';
import { DimensionedMetrics } from './dimensioned-metrics';

/** Log messages per event: a short constant message plus structured fields. */
const MESSAGES: Record<TollgateEvent['type'], string> = {
  TokenIssued: 'token issued',
  TokenRefreshed: 'token refreshed',
  RefreshReuseDetected: 'refresh token reuse detected',
  SessionTimedOut: 'session timed out',
  SessionRevoked: 'session revoked',
  TokenRejected: 'token rejected',
  ProxyRequest: 'proxy request',
  ProxyUpstreamLatency: 'proxy upstream latency',
  ProxyUpstreamTimeout: 'proxy upstream timeout',
  ProxyRejected: 'proxy rejected',
  ProxyResponseInterrupted: 'proxy response interrupted',
  RateLimited: 'rate limited',
};

/** Metric-only events: their facts are already in the request's one `proxy request` (or error) log line. */
const METRIC_ONLY = new Set<TollgateEvent['type']>(['ProxyUpstreamLatency', 'ProxyUpstreamTimeout', 'ProxyRejected', 'RateLimited']);

/** The dimensions of an event published on the root instance (not to be modified). */
const NO_DIMENSIONS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Dimensions come only from bounded sets: never a subject, sid or client id. */
function dimensions(event: TollgateEvent): Record<string, string> {
  switch (event.type) {
    case 'TokenIssued':
    case 'TokenRefreshed':
      return { kind: event.kind };
    case 'SessionTimedOut':
      return { reason: event.reason };
    case 'SessionRevoked':
      return { source: event.source };
    case 'TokenRejected':
      return { reason: event.reason };
    case 'ProxyRequest':
      return { route: event.route, statusClass: event.statusClass };
    case 'ProxyUpstreamLatency':
    case 'ProxyUpstreamTimeout':
      return { route: event.route };
    case 'ProxyRejected':
      return { code: event.code };
    case 'ProxyResponseInterrupted':
      return { route: event.route, reason: event.reason };
    case 'RateLimited':
      return { limit: event.limit };
    default:
      return NO_DIMENSIONS;
  }
}

/**
 * Turns service events into Powertools metrics (EMF, namespace `Tollgate`) and
 * one structured log line each. Each metric with a dimension is published as
 * a single metric so its dimension does not bleed onto the others.
 */
export class PowertoolsTelemetry implements Telemetry {
  private readonly dimensioned: DimensionedMetrics;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.dimensioned = new DimensionedMetrics(metrics);
  }

  emit(event: TollgateEvent): void {
    const type = event.type;
    const dims = dimensions(event);
    const unit = type === 'ProxyUpstreamLatency' ? MetricUnit.Milliseconds : MetricUnit.Count;
    const value = event.type === 'ProxyUpstreamLatency' ? event.ms : 1;
    if (dims === NO_DIMENSIONS) {
      this.metrics.addMetric(type, unit, value);
    } else {
      this.dimensioned.for(dims).addMetric(type, unit, value);
    }
    if (METRIC_ONLY.has(type)) return;
    const { type: _type, ...fields } = event;
    if (type === 'TokenRejected' || type === 'RefreshReuseDetected' || type === 'ProxyResponseInterrupted' || (event.type === 'ProxyRequest' && event.status >= 500)) {
      this.logger.warn(MESSAGES[type], fields);
    } else this.logger.info(MESSAGES[type], fields);
  }
}
