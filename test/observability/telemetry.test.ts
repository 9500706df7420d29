import { Metrics } from '@aws-lambda-powertools/metrics';
import { PowertoolsTelemetry } from '../../src/observability/telemetry';
import { RecordingLogger } from '../services/proxy-harness';

interface Emf {
  _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

describe('PowertoolsTelemetry: proxy events', () => {
  const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
  let printed: string[];
  let logger: RecordingLogger;
  let telemetry: PowertoolsTelemetry;
  let metrics: Metrics;

  beforeEach(() => {
    // Dev mode makes Powertools print EMF through the global console, where the test reads it.
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    printed = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => {
      printed.push(line);
    });
    logger = new RecordingLogger();
    metrics = new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-test' });
    telemetry = new PowertoolsTelemetry(metrics, logger);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    process.env.POWERTOOLS_DEV = saved.dev;
    process.env.POWERTOOLS_METRICS_DISABLED = saved.disabled;
    if (saved.dev === undefined) delete process.env.POWERTOOLS_DEV;
    if (saved.disabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  });

  function emitted(): Emf[] {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics(); // dimensioned events are published at once
    return printed.map((line) => JSON.parse(line) as Emf).filter((emf) => emf._aws);
  }

  function metric(name: string): Emf {
    const found = emitted().find((emf) => emf._aws.CloudWatchMetrics[0]!.Metrics.some((entry) => entry.Name === name));
    if (!found) throw new Error(`no ${name} metric`);
    return found;
  }

  it('publishes ProxyRequest with the route and status class dimensions only, and logs the request line', () => {
    telemetry.emit({ type: 'ProxyRequest', route: 'orders-read', statusClass: '2xx', method: 'GET', status: 200, upstreamLatencyMs: 12, sub: 'github:x', sid: 's1' });
    const emf = metric('ProxyRequest');
    expect(emf._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['route', 'service', 'statusClass']);
    expect(emf).toMatchObject({ route: 'orders-read', statusClass: '2xx', ProxyRequest: 1 });
    expect(emf).not.toHaveProperty('sub');
    expect(logger.lines).toEqual([
      { level: 'INFO', message: 'proxy request', fields: expect.objectContaining({ method: 'GET', status: 200, upstreamLatencyMs: 12, sub: 'github:x', sid: 's1' }) },
    ]);
  });

  it('keeps each event in its own dimension set when instances are reused', () => {
    for (const reason of ['idle', 'absolute', 'idle'] as const) telemetry.emit({ type: 'SessionTimedOut', reason, sid: 's1' });
    const documents = emitted().filter((emf) => 'SessionTimedOut' in emf);
    expect(documents.map((emf) => emf.reason)).toEqual(['idle', 'absolute', 'idle']);
    for (const emf of documents) expect(emf._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['reason', 'service']);
    expect(documents.every((emf) => emf.SessionTimedOut === 1)).toBe(true);
  });

  it('logs a 5xx proxy request as a warning', () => {
    telemetry.emit({ type: 'ProxyRequest', route: 'none', statusClass: '5xx', method: 'GET', status: 502, code: 'UPSTREAM_UNAVAILABLE' });
    expect(logger.lines[0]!.level).toBe('WARN');
  });

  it('publishes the upstream latency in milliseconds, per route', () => {
    telemetry.emit({ type: 'ProxyUpstreamLatency', route: '3', ms: 42 });
    const emf = metric('ProxyUpstreamLatency');
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: 'ProxyUpstreamLatency', Unit: 'Milliseconds' }]);
    expect(emf).toMatchObject({ route: '3', ProxyUpstreamLatency: 42 });
  });

  it.each([
    [{ type: 'ProxyRejected', code: 'ROUTE_NOT_ALLOWED' } as const, 'code', 'ROUTE_NOT_ALLOWED'],
    [{ type: 'RateLimited', limit: 'token_ip' } as const, 'limit', 'token_ip'],
    [{ type: 'ProxyUpstreamTimeout', route: 'orders-read' } as const, 'route', 'orders-read'],
  ])('publishes %o with its one bounded dimension and no log line of its own', (event, dimension, value) => {
    telemetry.emit(event);
    const emf = metric(event.type);
    expect(emf[dimension]).toBe(value);
    expect(logger.lines).toEqual([]);
  });
});
