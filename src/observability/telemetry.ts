import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Telemetry, TollgateEvent } from '../ports/telemetry';

/** Log messages per event: a short constant message plus structured fields. */
const MESSAGES: Record<TollgateEvent['type'], string> = {
  TokenIssued: 'token issued',
  TokenRefreshed: 'token refreshed',
  RefreshReuseDetected: 'refresh token reuse detected',
  SessionTimedOut: 'session timed out',
  SessionRevoked: 'session revoked',
  TokenRejected: 'token rejected',
};

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
    default:
      return {};
  }
}

/**
 * Turns service events into Powertools metrics (EMF, namespace `Tollgate`) and
 * one structured log line each. Each metric with a dimension is published as
 * a single metric so its dimension does not bleed onto the others.
 */
export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  emit(event: TollgateEvent): void {
    const { type, ...fields } = event;
    const dims = dimensions(event);
    if (Object.keys(dims).length === 0) {
      this.metrics.addMetric(type, MetricUnit.Count, 1);
    } else {
      const single = this.metrics.singleMetric();
      for (const [name, value] of Object.entries(dims)) single.addDimension(name, value);
      single.addMetric(type, MetricUnit.Count, 1);
    }
    if (type === 'TokenRejected' || type === 'RefreshReuseDetected') this.logger.warn(MESSAGES[type], fields);
    else this.logger.info(MESSAGES[type], fields);
  }
}
