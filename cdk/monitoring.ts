import { Duration, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { MetricName } from '../src/contract/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME, type TollgateFunction } from './tollgate-function';
import type { TollgateApi } from './tollgate-api';

/** The name of the metric the stack derives from 429s in the access log (API Gateway has no 429 metric of its own). */
export const THROTTLED_METRIC = 'ApiThrottled';

/** CloudWatch alarms take at most 10 metrics in one math expression. */
const MAX_METRICS_PER_ALARM = 10;

export interface MonitoringProps {
  api: TollgateApi;
  /** Every function, by a readable name (alarms and dashboard are per function). */
  functions: Record<string, TollgateFunction>;
  tables: { sessions: Table; guards: Table };
  /** The session indexes (their write throttles hold back the table's writes). */
  sessionIndexes: readonly string[];
  /** The proxy's route ids (the `route` dimension: a rule's name, else its index); empty without a proxy. */
  proxyRouteIds: readonly string[];
  /** Subscribed to the alarm topic. @default no subscription */
  alarmEmail?: string;
}

/**
 * Alarms and the dashboard. Every alarm notifies one SNS topic (and the
 * optional e-mail address), on alarm and on recovery; missing data is not
 * breaching (a quiet deployment is a healthy one).
 *
 * Alarms: API 5xx rate; throttled requests (429s, API Gateway's and
 * Tollgate's own rate limits); `RefreshReuseDetected` (a stolen refresh
 * token, most likely); `ProxyUpstreamTimeout`; each function's errors (the
 * handlers turn every expected failure into a response, so any error is a
 * crash, a timeout or a failed cold start) and throttles; DynamoDB throttles.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { displayName: 'Tollgate alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and states, no secret or personal data. CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key is not worth its cost here.',
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);
    const alarm = (id: string, description: string, metric: IMetric, threshold: number, options: { evaluationPeriods?: number; datapointsToAlarm?: number } = {}) => {
      const created = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        datapointsToAlarm: options.datapointsToAlarm,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };
    const fiveMinutes = Duration.minutes(5);
    const { api } = props.api;

    alarm(
      'Api5xxRate',
      '1% or more of API requests answered 5xx in 3 of the last 5 minutes.',
      api.metricServerError({ statistic: 'Average', period: Duration.minutes(1) }),
      0.01,
      { evaluationPeriods: 5, datapointsToAlarm: 3 },
    );

    const throttled = new MetricFilter(this, 'ThrottledFilter', {
      logGroup: props.api.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: THROTTLED_METRIC,
      metricValue: '1',
      defaultValue: 0,
    }).metric({ statistic: 'Sum', period: fiveMinutes });
    alarm(
      'ThrottledRate',
      '5% or more of API requests were refused with 429 (API Gateway throttling or Tollgate rate limits) for 10 minutes.',
      new MathExpression({
        expression: 'IF(requests > 0, 100 * throttled / requests, 0)',
        usingMetrics: { throttled, requests: api.metricCount({ statistic: 'Sum', period: fiveMinutes }) },
        label: '429 rate (%)',
        period: fiveMinutes,
      }),
      5,
      { evaluationPeriods: 2 },
    );

    alarm(
      'RefreshReuseDetected',
      'A rotated refresh token was presented again: its session was revoked. Usually a stolen token; see the "refresh token reuse detected" log lines.',
      tollgateMetric('RefreshReuseDetected', {}, 'Sum', fiveMinutes),
      1,
    );

    for (let start = 0; start < props.proxyRouteIds.length; start += MAX_METRICS_PER_ALARM) {
      const chunk = props.proxyRouteIds.slice(start, start + MAX_METRICS_PER_ALARM);
      const usingMetrics = Object.fromEntries(chunk.map((route, index) => [`r${index}`, tollgateMetric('ProxyUpstreamTimeout', { route }, 'Sum', fiveMinutes)]));
      alarm(
        start === 0 ? 'ProxyUpstreamTimeouts' : `ProxyUpstreamTimeouts${start / MAX_METRICS_PER_ALARM + 1}`,
        `At least 5 proxied requests timed out waiting for the upstream in 5 minutes (routes ${chunk.join(', ')}).`,
        new MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, label: 'upstream timeouts', period: fiveMinutes }),
        5,
      );
    }

    for (const [name, fn] of Object.entries(props.functions)) {
      const label = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(`${label}Errors`, `The ${name} function failed (crash, timeout or failed cold start).`, fn.fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }), 1);
      alarm(`${label}Throttles`, `The ${name} function was throttled (account or function concurrency).`, fn.fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }), 1);
    }

    for (const [name, table] of Object.entries(props.tables)) {
      const indexes = name === 'sessions' ? props.sessionIndexes : [];
      const usingMetrics: Record<string, IMetric> = {
        reads: dynamoMetric('ReadThrottleEvents', { TableName: table.tableName }, fiveMinutes),
        writes: dynamoMetric('WriteThrottleEvents', { TableName: table.tableName }, fiveMinutes),
      };
      indexes.forEach((index, i) => {
        usingMetrics[`index${i}`] = dynamoMetric('WriteThrottleEvents', { TableName: table.tableName, GlobalSecondaryIndexName: index }, fiveMinutes);
      });
      alarm(
        `${name.charAt(0).toUpperCase() + name.slice(1)}TableThrottles`,
        `The ${name} table throttled at least 5 requests in 5 minutes (a hot key, or traffic more than doubling its previous peak).`,
        new MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, label: `${name} throttles`, period: fiveMinutes }),
        5,
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const search = (metric: MetricName, dimensions: string[], stat: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${[METRICS_NAMESPACE, ...dimensions, 'service'].join(',')}} MetricName="${metric}" service="${SERVICE_NAME}"', '${stat}', 300)`,
        usingMetrics: {},
        label,
        period: fiveMinutes,
      });
    const functions = Object.entries(props.functions);
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# Tollgate\nTokens, sessions and the proxy. Logs Insights queries for a session\'s history: docs/deploy.md.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [api.metricCount({ statistic: 'Sum', period: fiveMinutes, label: 'requests' })],
        right: [
          api.metricClientError({ statistic: 'Sum', period: fiveMinutes, label: '4xx' }),
          api.metricServerError({ statistic: 'Sum', period: fiveMinutes, label: '5xx' }),
          throttled.with({ label: '429' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [
          api.metricLatency({ statistic: 'p50', period: fiveMinutes, label: 'p50' }),
          api.metricLatency({ statistic: 'p99', period: fiveMinutes, label: 'p99' }),
          api.metricIntegrationLatency({ statistic: 'p99', period: fiveMinutes, label: 'integration p99' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Tokens issued', left: [search('TokenIssued', ['kind'], 'Sum', '')], width: 6 }),
      new GraphWidget({ title: 'Refreshes', left: [search('TokenRefreshed', ['kind'], 'Sum', '')], width: 6 }),
      new GraphWidget({ title: 'Session timeouts by reason', left: [search('SessionTimedOut', ['reason'], 'Sum', '')], width: 6 }),
      new GraphWidget({
        title: 'Rejections by reason',
        left: [search('TokenRejected', ['reason'], 'Sum', ''), search('ProxyRejected', ['code'], 'Sum', ''), search('RateLimited', ['limit'], 'Sum', '')],
        right: [tollgateMetric('RefreshReuseDetected', {}, 'Sum', fiveMinutes).with({ label: 'refresh reuse' })],
        width: 6,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Proxy upstream latency p50 / p99 (ms)',
        left: [search('ProxyUpstreamLatency', ['route'], 'p50', 'p50'), search('ProxyUpstreamLatency', ['route'], 'p99', 'p99')],
        width: 8,
      }),
      new GraphWidget({ title: 'Proxy upstream timeouts', left: [search('ProxyUpstreamTimeout', ['route'], 'Sum', '')], width: 8 }),
      new GraphWidget({ title: 'Proxy responses by status class', left: [search('ProxyRequest', ['route', 'statusClass'], 'Sum', '')], width: 8 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors and throttles',
        left: functions.map(([name, fn]) => fn.fn.metricErrors({ statistic: 'Sum', period: fiveMinutes, label: `${name} errors` })),
        right: functions.map(([name, fn]) => fn.fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes, label: `${name} throttles` })),
        width: 12,
      }),
      new GraphWidget({
        title: 'Function duration p99 (ms)',
        left: functions.map(([name, fn]) => fn.fn.metricDuration({ statistic: 'p99', period: fiveMinutes, label: name })),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'DynamoDB consumed capacity',
        left: Object.entries(props.tables).flatMap(([name, table]) => [
          table.metricConsumedReadCapacityUnits({ statistic: 'Sum', period: fiveMinutes, label: `${name} reads` }),
          table.metricConsumedWriteCapacityUnits({ statistic: 'Sum', period: fiveMinutes, label: `${name} writes` }),
        ]),
        width: 12,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
    );
  }
}

/** A Tollgate metric as Powertools publishes it: namespace `Tollgate`, dimension `service` plus the event's own. */
function tollgateMetric(name: MetricName, dimensions: Record<string, string>, statistic: string, period: Duration): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service: SERVICE_NAME, ...dimensions }, statistic, period });
}

function dynamoMetric(name: string, dimensions: Record<string, string>, period: Duration): Metric {
  return new Metric({ namespace: 'AWS/DynamoDB', metricName: name, dimensionsMap: dimensions, statistic: 'Sum', period });
}
