import { Aws, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  BasePathMapping,
  DomainName,
  EndpointType,
  LambdaIntegration,
  ResponseTransferMode,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  SecurityPolicy,
  type MethodDeploymentOptions,
} from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ARecord, HostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayDomain } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { API_ROUTES, type FunctionName } from '../src/contract/routes';
import type { AwsConfig, CorsConfig } from '../src/config/config';
import type { TollgateFunction } from './tollgate-function';

/** The stage every route is served on; part of the default issuer URL, so never changed after the first deploy. */
export const STAGE_NAME = 'prod';

/**
 * The access log line: one JSON object per request, from `$context`
 * variables only. API Gateway's access logs cannot carry bodies, and these
 * fields carry no header value (so never an Authorization header). Fields a
 * client writes freely (user agent, raw path) are left out: API Gateway does
 * not escape them, and a quote would break the JSON line.
 */
export const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  errorType: '$context.error.responseType',
  // API Gateway quotes and escapes this one itself.
  errorMessage: '$context.error.messageString',
};

/**
 * Bodies API Gateway sends when it answers without a function, in Tollgate's
 * error shape (RFC 6749 §5.2 `error` / `error_description`), so clients
 * parse one shape whoever answered. Throttling gets the same body and code as
 * Tollgate's own rate limits (`src/http/errors.ts`).
 */
export const GATEWAY_RESPONSES: readonly { id: string; type: ResponseType; statusCode?: string; body: string; retryAfter?: string }[] = [
  {
    id: 'Throttled',
    type: ResponseType.THROTTLED,
    statusCode: '429',
    body: JSON.stringify({ error: 'rate_limited', error_description: 'too many requests, retry later', code: 'RATE_LIMITED' }),
    retryAfter: '1',
  },
  {
    id: 'NotFound',
    // REST APIs answer an unknown path with 403 "Missing Authentication Token"; it is a 404.
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    statusCode: '404',
    body: JSON.stringify({ error: 'not_found', error_description: 'no such resource' }),
  },
  {
    id: 'TooLarge',
    type: ResponseType.REQUEST_TOO_LARGE,
    statusCode: '413',
    body: JSON.stringify({ error: 'invalid_request', error_description: 'the request is too large' }),
  },
  {
    id: 'Timeout',
    type: ResponseType.INTEGRATION_TIMEOUT,
    statusCode: '504',
    body: JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' }),
    retryAfter: '1',
  },
  {
    id: 'Default4xx',
    type: ResponseType.DEFAULT_4XX,
    body: '{"error":"invalid_request","error_description":$context.error.messageString}',
  },
  {
    id: 'Default5xx',
    type: ResponseType.DEFAULT_5XX,
    body: JSON.stringify({ error: 'server_error', error_description: 'internal error' }),
  },
];

/** Why each route has no API Gateway authorizer (cdk-nag APIG4 and COG4 acknowledge these). */
const PUBLIC_ROUTE_REASONS: Partial<Record<FunctionName | 'default', string>> = {
  proxy:
    'The proxy function itself validates the bearer token and its session (RFC 6750) and answers with WWW-Authenticate; an authorizer would check the token twice.',
  clerkWebhook: 'Called by Clerk (Svix) without API credentials: the function verifies the Svix signature over the exact body before anything else.',
  default:
    'An OAuth endpoint called without API credentials by design (RFC 6749 §3.2, RFC 8414, RFC 7662, RFC 7009): the function authenticates the presented token.',
};

/**
 * The CORS headers of API Gateway's own answers (throttled, 4xx/5xx
 * defaults, timeouts), so a browser sees the real status instead of an
 * opaque network error. A gateway response cannot run Tollgate's origin
 * check, so:
 * - one exact allowed origin: that origin, as a constant (any other origin
 *   finds a name that is not its own, and the browser withholds the answer);
 * - several origins or a pattern: the request's own `Origin` echoed
 *   (`method.request.header.Origin`). Then any origin can read these fixed,
 *   data-free bodies (`rate_limited`, `not_found`, …); every answer a
 *   function gives still goes through the policy (docs/security.md).
 * No CORS config: no header.
 */
export function gatewayCorsHeaders(cors: Pick<CorsConfig, 'allowedOrigins' | 'allowCredentials'> | undefined): Record<string, string> {
  const origins = cors?.allowedOrigins ?? [];
  if (origins.length === 0) return {};
  const single = origins.length === 1 && !origins[0]!.includes('*');
  return {
    'Access-Control-Allow-Origin': single ? `'${new URL(origins[0]!).origin}'` : 'method.request.header.Origin',
    'Access-Control-Expose-Headers': "'WWW-Authenticate, Retry-After, DPoP-Nonce'",
    Vary: "'Origin'",
    ...(cors!.allowCredentials ? { 'Access-Control-Allow-Credentials': "'true'" } : {}),
  };
}

export interface TollgateApiProps {
  aws: Pick<AwsConfig, 'throttle' | 'routeThrottle' | 'logRetentionDays' | 'customDomain'>;
  /** The one CORS policy (`cors`, else `proxy.cors`): its origins go on API Gateway's own answers (`gatewayCorsHeaders`). */
  cors?: Pick<CorsConfig, 'allowedOrigins' | 'allowCredentials'>;
  /** @default STAGE_NAME */
  stageName?: string;
}

/**
 * The public HTTP interface: an API Gateway REST API (regional, payload v1
 * Lambda proxy integrations, binary media types `*\/*` so every body reaches
 * the functions as exact bytes), one stage with throttling from the config
 * (stage-wide and per route), JSON access logs without bodies or headers,
 * execution logs at ERROR only and never data traces, Tollgate-shaped
 * gateway responses, and optionally a custom domain.
 *
 * Why a REST API and not an HTTP API: see docs/deploy.md.
 */
export class TollgateApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  readonly stageName: string;
  /** The base URL clients call: the custom domain, else the stage's execute-api URL. Known before any route exists. */
  readonly publicBaseUrl: string;
  readonly domain?: DomainName;

  constructor(scope: Construct, id: string, props: TollgateApiProps) {
    super(scope, id);
    const { throttle, routeThrottle, logRetentionDays, customDomain } = props.aws;
    this.stageName = props.stageName ?? STAGE_NAME;
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: logRetentionDays as RetentionDays, removalPolicy: RemovalPolicy.RETAIN });

    const methodOptions: Record<string, MethodDeploymentOptions> = {};
    for (const [key, limits] of Object.entries(routeThrottle)) {
      const [method, resource] = key.split(' ') as [string, string];
      methodOptions[`${resource}/${method}`] = { throttlingRateLimit: limits.rateLimit, throttlingBurstLimit: limits.burstLimit };
    }

    this.api = new RestApi(this, 'Api', {
      // The ApiName dimension of the API's metrics: one per stack, so two deployments in an account never share graphs.
      restApiName: Stack.of(this).stackName,
      description: 'Tollgate: token service and bearer-validated API proxy',
      endpointTypes: [EndpointType.REGIONAL],
      binaryMediaTypes: ['*/*'],
      // Access logging needs the account's API Gateway CloudWatch role; kept on teardown, since other APIs in the account may rely on it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: this.stageName,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        methodOptions,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(accessLogFormat()),
        // ERROR: INFO-level execution logs would record request headers; data traces would record bodies.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        tracingEnabled: false,
      },
    });

    // API Gateway writes execution logs to a group it names itself; created here first, so it gets a retention (not "never expire").
    const executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${this.stageName}`,
      retention: logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);

    const corsHeaders = gatewayCorsHeaders(props.cors);
    for (const response of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(response.id, {
        type: response.type,
        statusCode: response.statusCode,
        responseHeaders: {
          'Content-Type': "'application/json'",
          'Cache-Control': "'no-store'",
          ...(response.retryAfter ? { 'Retry-After': `'${response.retryAfter}'` } : {}),
          ...corsHeaders,
        },
        templates: { 'application/json': response.body },
      });
    }

    if (customDomain) {
      this.domain = new DomainName(this, 'Domain', {
        domainName: customDomain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', customDomain.certificateArn),
        endpointType: EndpointType.REGIONAL,
        securityPolicy: SecurityPolicy.TLS_1_2,
      });
      new BasePathMapping(this, 'Mapping', { domainName: this.domain, restApi: this.api, stage: this.api.deploymentStage });
      if (customDomain.hostedZone) {
        new ARecord(this, 'Alias', {
          zone: HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: customDomain.hostedZone.id, zoneName: customDomain.hostedZone.name }),
          recordName: customDomain.domainName,
          target: RecordTarget.fromAlias(new ApiGatewayDomain(this.domain)),
        });
      }
      this.publicBaseUrl = `https://${customDomain.domainName}`;
    } else {
      // Built from the API id, not from the stage's URL: the functions need it, and the stage depends on them.
      this.publicBaseUrl = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.stageName}`;
    }

    Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: "AWS's own policy for exactly this role: the account-level role API Gateway uses to write this API's access and execution logs.",
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: 'Every function validates its own input and answers in the RFC 6749 / RFC 6750 error shapes; an API Gateway request validator would answer first, in its own shape.',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'No WAF web ACL by default (it costs more than the rest of a small deployment); throttling and Tollgate rate limits cover abuse. docs/deploy.md shows how to associate one.',
    });
  }

  /** Adds every route of `src/contract/routes.ts` whose function exists, as a Lambda proxy integration. */
  addRoutes(functions: Partial<Record<FunctionName, TollgateFunction>>): void {
    for (const route of API_ROUTES) {
      const fn = functions[route.fn];
      if (!fn) continue;
      // The proxy streams its answers (Lambda response streaming, `src/lambda/proxy.ts`); every other route is buffered.
      const responseTransferMode = route.fn === 'proxy' ? ResponseTransferMode.STREAM : ResponseTransferMode.BUFFERED;
      const integration = new LambdaIntegration(fn.fn, { proxy: true, allowTestInvoke: false, responseTransferMode });
      const method = this.api.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        authorizationType: AuthorizationType.NONE,
      });
      for (const id of ['AwsSolutions-APIG4', 'AwsSolutions-COG4']) {
        Validations.of(method).acknowledge({
          id,
          reason: PUBLIC_ROUTE_REASONS[route.fn] ?? PUBLIC_ROUTE_REASONS.default!,
        });
      }
    }
  }
}

/** The access log format string: JSON, every value quoted except those API Gateway quotes itself (`…String`). */
export function accessLogFormat(): string {
  const fields = Object.entries(ACCESS_LOG_FIELDS).map(([name, value]) => (value.endsWith('String') ? `"${name}":${value}` : `"${name}":"${value}"`));
  return `{${fields.join(',')}}`;
}
