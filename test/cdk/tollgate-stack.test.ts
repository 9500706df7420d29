import { App, CfnResource, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { API_ROUTES } from '../../src/contract/routes';
import { loadConfig } from '../../src/config/config';
import { EnvNames } from '../../src/contract/env-names';
import { RateLimitedError } from '../../src/domain/errors';
import { errorResponse } from '../../src/http/errors';
import { EMPTY_KEY_SET } from '../../cdk/signing-keys';
import { NODE_RUNTIME } from '../../cdk/tollgate-function';
import type { TollgateStack } from '../../cdk/tollgate-stack';
import { cdkJsonContext, synthTollgate, type SynthResult } from './synth-tollgate';
import { FULL_CONFIG, TOKENS_ONLY_CONFIG } from './test-configs';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const quiet = { warn: () => undefined, error: () => undefined };

describe('Tollgate stack', () => {
  let full: SynthResult;
  let template: Template;
  let stack: TollgateStack;
  const id = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });

  beforeAll(() => {
    // Synthesizing runs cdk-nag and the CloudFormation rules: a finding would throw here.
    full = synthTollgate({ config: FULL_CONFIG });
    template = full.template;
    stack = full.stack;
  });

  /** The statements of the one policy attached to a function's role, sorted for comparison. */
  function statementsOf(roleConstruct: IConstruct): Statement[] {
    const roleId = id(roleConstruct);
    const role = template.findResources('AWS::IAM::Role')[roleId]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }));
    expect(policies).toHaveLength(1);
    return normalize(policies[0]!.Properties.PolicyDocument.Statement as Statement[]);
  }

  describe('tables', () => {
    it.each([
      ['sessions', 'sid'],
      ['guards', 'pk'],
    ] as const)('keeps the %s table on-demand with TTL, point-in-time recovery, deletion protection and RETAIN, with no physical name', (name, key) => {
      const table = stack.tables[name];
      const resource = template.findResources('AWS::DynamoDB::Table')[id(table)]!;

      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      expect(resource.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
      expect(resource.Properties.TableName).toBeUndefined();
    });

    it('indexes sessions by subject and by upstream session id (and for the admin CLI), keys only, as the local store does', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: 'sid', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: Match.arrayEquals([
          { IndexName: 'bySubject', KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
          { IndexName: 'byUpstreamSid', KeySchema: [{ AttributeName: 'upstreamSid', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
          // The admin CLI's indexes (test/cdk/operations.test.ts).
          Match.objectLike({ IndexName: 'byTrust' }),
          Match.objectLike({ IndexName: 'byRepository' }),
        ]),
      });
    });
  });

  describe('API', () => {
    it('is a regional REST API that hands every body to the functions as bytes', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'], EndpointConfiguration: { Types: ['REGIONAL'] } });
    });

    it('throttles the stage and each configured route with the values from the config', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([
          Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
          Match.objectLike({ ResourcePath: '/~1token', HttpMethod: 'POST', ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 }),
          Match.objectLike({ ResourcePath: '/~1proxy~1{proxy+}', HttpMethod: 'ANY', ThrottlingRateLimit: 40, ThrottlingBurstLimit: 80 }),
        ]),
      });
    });

    it('writes JSON access logs from $context only (no body, no header value) and never data traces', () => {
      const format = new Capture();
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        AccessLogSetting: { DestinationArn: Match.anyValue(), Format: format },
        MethodSettings: Match.arrayWith([Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', LoggingLevel: 'ERROR', DataTraceEnabled: false })]),
      });
      const line = format.asString();
      const sample = JSON.parse(line.replace(/\$context\.error\.messageString/, '"x"').replace(/\$context\.[a-zA-Z.]+/g, 'v')) as Record<string, string>;
      expect(Object.keys(sample)).toEqual(expect.arrayContaining(['requestId', 'ip', 'httpMethod', 'resourcePath', 'status', 'responseLatency', 'errorType']));
      for (const variable of line.match(/\$[a-zA-Z.]+/g)!) expect(variable).toMatch(/^\$context\.(?!authorizer|requestOverride|responseOverride)/);
      expect(line.toLowerCase()).not.toMatch(/authorization|header|\$input|body/);

      for (const stage of Object.values(template.findResources('AWS::ApiGateway::Stage'))) {
        for (const setting of stage.Properties.MethodSettings ?? []) expect(setting.DataTraceEnabled).not.toBe(true);
      }
      expect(JSON.stringify(template.toJSON())).not.toMatch(/"DataTraceEnabled":true/);
    });

    it('serves every route of src/contract/routes.ts with a Lambda proxy integration of the function for that job', () => {
      for (const route of API_ROUTES) {
        const fn = stack.functions.functions[route.fn]!;
        const resource = stack.api.api.root.resourceForPath(route.resource);

        const methods = template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: route.method, ResourceId: { Ref: id(resource) } } });

        expect(Object.values(methods).map((method) => method.Properties)).toEqual([
          expect.objectContaining({
            AuthorizationType: 'NONE',
            Integration: expect.objectContaining({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', Uri: expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([arnOf(fn.fn)])] }) }),
          }),
        ]);
      }
    });

    it("answers throttled requests with Tollgate's own rate-limit body and Retry-After", () => {
      const own = errorResponse(new RateLimitedError(1), quiet);
      const body = new Capture();

      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'THROTTLED',
        StatusCode: '429',
        ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/json'", 'gatewayresponse.header.Retry-After': "'1'" },
        ResponseTemplates: { 'application/json': body },
      });
      expect(JSON.parse(body.asString())).toEqual(JSON.parse(own.body));
    });

    it('gives API Gateway\'s execution logs a retention by creating their group first', () => {
      const executionLogs = Object.entries(template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: Match.anyValue() } }));
      expect(executionLogs).toHaveLength(1);
      const [logicalId, group] = executionLogs[0]!;
      expect(JSON.stringify(group.Properties.LogGroupName)).toContain('API-Gateway-Execution-Logs_');
      expect(group.Properties.RetentionInDays).toBe(90);
      template.hasResource('AWS::ApiGateway::Stage', { DependsOn: Match.arrayWith([logicalId]) });
    });
  });

  describe('functions', () => {
    it('runs every function on the newest Node.js runtime aws-cdk-lib offers, on arm64, with its own log group and Powertools settings', () => {
      const newest = Runtime.ALL.filter((runtime) => runtime.family === RuntimeFamily.NODEJS && /\d/.test(runtime.name))
        .map((runtime) => runtime.name)
        .sort((a, b) => Number(b.match(/\d+/)![0]) - Number(a.match(/\d+/)![0]))[0];
      expect(NODE_RUNTIME.name).toBe(newest);
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      expect(functions).toHaveLength(8);
      for (const fn of functions) {
        expect(fn.Properties).toMatchObject({
          Runtime: NODE_RUNTIME.name,
          Architectures: ['arm64'],
          Handler: 'index.handler',
          LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
          Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'tollgate', POWERTOOLS_METRICS_NAMESPACE: 'Tollgate' } },
        });
        const logGroup = template.findResources('AWS::Logs::LogGroup')[fn.Properties.LoggingConfig.LogGroup.Ref]!;
        expect(logGroup.Properties.RetentionInDays).toBe(90);
        expect(logGroup.DeletionPolicy).toBe('Retain');
      }
    });

    it('gives the functions the config without the deploy-only key, secret refs as refs, and the API URL without a cycle', () => {
      // The config as synth validated it (defaults filled in); its stamp is checked in function-config.test.ts.
      const { aws: _deployOnly, ...forFunctions } = loadConfig(FULL_CONFIG);
      const token = stack.functions.functions.token!;
      const variables = template.findResources('AWS::Lambda::Function')[id(token.fn)]!.Properties.Environment.Variables;

      expect(JSON.parse(variables[EnvNames.configJson])).toEqual(JSON.parse(JSON.stringify(forFunctions)));
      expect(variables[EnvNames.configJson]).toContain('aws-secretsmanager:tollgate/upstream-token');
      expect(variables).toMatchObject({
        [EnvNames.sessionsTable]: { Ref: id(stack.tables.sessions) },
        [EnvNames.guardsTable]: { Ref: id(stack.tables.guards) },
        [EnvNames.signingKeysSecretId]: { Ref: id(stack.signingKeys.secret) },
        [EnvNames.refreshFunctionName]: { Ref: id(stack.functions.functions.refresh!.fn) },
        [EnvNames.publicBaseUrl]: {
          'Fn::Join': ['', ['https://', { Ref: id(stack.api.api) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']],
        },
      });
    });

    it('lets the token function hand refresh grants over but never update sessions itself', () => {
      const { token, refresh } = stack.functions.functions;
      const signing = { Ref: id(stack.signingKeys.secret) };

      expect(statementsOf(token!.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(token!.logGroup)),
          allow(['secretsmanager:GetSecretValue'], signing),
          // Read and delete: an exchange whose answer was lost looks at its own write and undoes it.
          allow(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], arnOf(stack.tables.sessions)),
          allow(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], arnOf(stack.tables.guards)),
          allow(['lambda:InvokeFunction'], arnOf(refresh!.fn)),
        ]),
      );
      expect(statementsOf(refresh!.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(refresh!.logGroup)),
          allow(['secretsmanager:GetSecretValue'], signing),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], arnOf(stack.tables.sessions)),
          // Webhook markers (the config has webhooks.clerk).
          allow(['dynamodb:BatchGetItem'], arnOf(stack.tables.guards)),
          dpopMarkers(arnOf(stack.tables.guards)),
        ]),
      );
    });

    it('lets verify and metadata only read, and revoke read and end sessions', () => {
      const { verify, metadata, revoke } = stack.functions.functions;
      const signing = { Ref: id(stack.signingKeys.secret) };

      expect(statementsOf(verify!.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(verify!.logGroup)),
          allow(['secretsmanager:GetSecretValue'], signing),
          allow(['dynamodb:GetItem'], arnOf(stack.tables.sessions)),
        ]),
      );
      expect(statementsOf(metadata!.role)).toEqual(
        normalize([allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(metadata!.logGroup)), allow(['secretsmanager:GetSecretValue'], signing)]),
      );
      expect(statementsOf(revoke!.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(revoke!.logGroup)),
          allow(['secretsmanager:GetSecretValue'], signing),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], arnOf(stack.tables.sessions)),
        ]),
      );
    });

    it('lets the proxy read sessions, count in the guards table, and read only its upstream secret', () => {
      const proxy = stack.functions.functions.proxy!;
      const upstream = {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:tollgate/upstream-token-??????']],
      };

      expect(statementsOf(proxy.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(proxy.logGroup)),
          allow(['secretsmanager:GetSecretValue'], [upstream, { Ref: id(stack.signingKeys.secret) }]),
          allow(['dynamodb:GetItem'], arnOf(stack.tables.sessions)),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], arnOf(stack.tables.guards)),
          dpopMarkers(arnOf(stack.tables.guards)),
        ]),
      );
    });

    it('lets the Clerk webhook function find sessions by index, end them, mark deliveries and read only its Svix secret, without signing keys', () => {
      const webhook = stack.functions.functions.clerkWebhook!;
      const sessionsArn = arnOf(stack.tables.sessions);
      const variables = template.findResources('AWS::Lambda::Function')[id(webhook.fn)]!.Properties.Environment.Variables;

      expect(statementsOf(webhook.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(webhook.logGroup)),
          allow(['dynamodb:Query'], [
            { 'Fn::Join': ['', [sessionsArn, '/index/bySubject']] },
            { 'Fn::Join': ['', [sessionsArn, '/index/byUpstreamSid']] },
          ]),
          allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], sessionsArn),
          allow(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], arnOf(stack.tables.guards)),
          allow(['secretsmanager:GetSecretValue'], {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:tollgate/clerk-webhook-??????']],
          }),
        ]),
      );
      expect(Object.keys(variables).sort()).toEqual(
        [EnvNames.configJson, EnvNames.configStamp, EnvNames.sessionsTable, EnvNames.guardsTable, 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'].sort(),
      );
    });

    it('grants no wildcard action and no "*" resource anywhere', () => {
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
      expect(statements.length).toBeGreaterThan(10);
      for (const statement of statements) {
        for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
        expect([statement.Resource].flat()).not.toContain('*');
      }
    });
  });

  describe('signing keys', () => {
    it('deploys the secret empty: no key material in the template', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: EMPTY_KEY_SET });
      const text = JSON.stringify(template.toJSON());
      expect(text).not.toMatch(/\\"(d|p|q|dp|dq|qi|k)\\":/);
      expect(text).not.toMatch(/PRIVATE KEY|\\"kty\\"/);
    });

    it('rotates on the configured schedule, at once on creation, with the rotation function only', () => {
      const rotation = stack.signingKeys.rotation;
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: { Ref: id(stack.signingKeys.secret) },
        RotationLambdaARN: arnOf(rotation.fn),
        RotationRules: { ScheduleExpression: 'rate(14 days)' },
        RotateImmediatelyOnUpdate: true,
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: arnOf(rotation.fn),
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      });
      expect(statementsOf(rotation.role)).toEqual(
        normalize([
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], arnOf(rotation.logGroup)),
          allow(
            ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
            { Ref: id(stack.signingKeys.secret) },
          ),
        ]),
      );
    });
  });

  describe('monitoring', () => {
    const topicRef = () => ({ Ref: id(stack.monitoring.topic) });

    it('alarms on 5xx rate, 429s, refresh token reuse, upstream timeouts, each function and each table, all to the topic', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      // 5xx, 429, reuse, upstream timeouts, errors and throttles of 8 functions, 2 tables.
      expect(alarms).toHaveLength(4 + 16 + 2);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topicRef()]);
        expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      }
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: '5XXError',
        Namespace: 'AWS/ApiGateway',
        Statistic: 'Average',
        Threshold: 0.01,
        Dimensions: Match.arrayWith([{ Name: 'ApiName', Value: 'Tollgate' }]),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RefreshReuseDetected',
        Namespace: 'Tollgate',
        Dimensions: [{ Name: 'service', Value: 'tollgate' }],
        Threshold: 1,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: Match.arrayWith([
          Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApiThrottled', Namespace: 'Tollgate' }) }) }),
        ]),
      });
      const timeouts = new Capture();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: timeouts, Threshold: 5, AlarmDescription: Match.stringLikeRegexp('timed out waiting for the upstream') });
      const routes = (timeouts.asArray() as { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[])
        .filter((metric) => metric.MetricStat)
        .map((metric) => metric.MetricStat!.Metric);
      expect(routes.map((metric) => metric.MetricName)).toEqual(['ProxyUpstreamTimeout', 'ProxyUpstreamTimeout']);
      // The route dimension is the rule's name, else its index.
      expect(routes.map((metric) => metric.Dimensions.find((d) => d.Name === 'route')!.Value)).toEqual(['orders', '1']);
      template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' }, 8);
      template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Namespace: 'AWS/Lambda' }, 8);
    });

    it('counts 429s from the access log and mails alarms to the configured address', () => {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: '{ $.status = "429" }',
        LogGroupName: { Ref: id(stack.api.accessLogs) },
        MetricTransformations: [Match.objectLike({ MetricName: 'ApiThrottled', MetricNamespace: 'Tollgate', MetricValue: '1' })],
      });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef() });
    });

    it('charts tokens, refreshes, timeouts and rejections by reason, proxy latency p50/p99 and upstream timeouts', () => {
      const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
      for (const metric of ['TokenIssued', 'TokenRefreshed', 'SessionTimedOut', 'TokenRejected', 'ProxyUpstreamTimeout']) expect(body).toContain(`MetricName=\\\\\\"${metric}\\\\\\"`);
      expect(body).toMatch(/ProxyUpstreamLatency.*'p50'/);
      expect(body).toMatch(/ProxyUpstreamLatency.*'p99'/);
    });
  });

  it('outputs the API URL, issuer, JWKS URL, table names and dashboard URL', () => {
    const outputs = template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'Issuer', 'MetadataUrl', 'JwksUrl', 'SessionsTableName', 'GuardsTableName', 'DashboardUrl', 'SigningKeysSecretArn']),
    );
    template.hasOutput('JwksUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['/prod/.well-known/jwks.json'])] } });
  });

  describe('token service only, behind a custom domain', () => {
    let tokensOnly: SynthResult;
    beforeAll(() => {
      tokensOnly = synthTollgate({ config: TOKENS_ONLY_CONFIG });
    });

    it('has no proxy or webhook function, route or upstream alarm', () => {
      expect(tokensOnly.stack.functions.functions.proxy).toBeUndefined();
      tokensOnly.template.resourceCountIs('AWS::Lambda::Function', 6);
      expect(tokensOnly.stack.functions.functions.clerkWebhook).toBeUndefined();
      tokensOnly.template.resourcePropertiesCountIs('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' }, 0);
      expect(JSON.stringify(tokensOnly.template.toJSON())).not.toContain('ProxyUpstreamTimeout"');
    });

    it('serves the API on the domain (TLS 1.2, root mapping, Route 53 alias) and makes it the issuer', () => {
      tokensOnly.template.hasResourceProperties('AWS::ApiGateway::DomainName', {
        DomainName: 'auth.example.com',
        RegionalCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7',
        SecurityPolicy: 'TLS_1_2',
        EndpointConfiguration: { Types: ['REGIONAL'] },
      });
      tokensOnly.template.resourceCountIs('AWS::ApiGateway::BasePathMapping', 1);
      tokensOnly.template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'auth.example.com.', Type: 'A', HostedZoneId: 'Z0123456789ABCDEFGHIJ' });
      tokensOnly.template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ [EnvNames.publicBaseUrl]: 'https://auth.example.com' }) },
      });
      tokensOnly.template.hasOutput('Issuer', { Value: 'https://auth.example.com' });
    });

    it('reads no webhook markers without webhooks: refresh only records DPoP proof markers in the guards table', () => {
      const { token, refresh } = tokensOnly.stack.functions.functions;
      const actions = (fn: typeof token) =>
        Object.values(tokensOnly.template.findResources('AWS::IAM::Policy'))
          .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(tokensOnly.stack.getLogicalId(fn!.role.node.defaultChild as CfnElement)))
          .flatMap((policy) => (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap((statement) => [statement.Action].flat()));

      expect(actions(token)).not.toContain('dynamodb:BatchGetItem');
      expect([...new Set(actions(refresh).filter((action) => action.startsWith('dynamodb:')))].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    });

    it('uses the defaults: 100/200 stage throttling, a year of logs, monthly rotation', () => {
      tokensOnly.template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: [Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })],
      });
      tokensOnly.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
      tokensOnly.template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
    });
  });

  describe('the checks synth runs', () => {
    it('fails synth on a CloudFormation rule finding (cdk.json turns them into errors)', () => {
      const app = new App({ context: cdkJsonContext() });
      const broken = new Stack(app, 'Broken');
      new CfnResource(broken, 'Table', { type: 'AWS::DynamoDB::Table', properties: { BillingMode: 'NOT_A_MODE', KeySchema: 'not a list' } });

      expect(() => app.synth()).toThrow(/CloudFormation Validate/);
    });

    it('fails synth on an unacknowledged cdk-nag finding, and passes once it is acknowledged with a reason', () => {
      const synthWith = (acknowledge: boolean) => {
        const app = new App({ context: cdkJsonContext() });
        const other = new Stack(app, 'Other');
        const topic = new Topic(other, 'Topic');
        if (acknowledge) Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS3', reason: 'a test of the check itself' });
        Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
        return () => app.synth();
      };

      expect(synthWith(false)).toThrow(/AwsSolutions-SNS3/);
      expect(synthWith(true)).not.toThrow();
    });
  });
});

function allow(actions: string[], resource: unknown): Statement {
  return { Effect: 'Allow', Action: actions.length === 1 ? actions[0]! : actions, Resource: resource };
}

/** PutItem (and the GetItem that recognises a lost answer) restricted to DPoP proof markers (`dpop#…` keys). */
function dpopMarkers(resource: unknown): Statement {
  return { ...allow(['dynamodb:GetItem', 'dynamodb:PutItem'], resource), Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['dpop#*'] } } } as Statement;
}

/** Statements in a stable order, each action list sorted, single actions and resources unwrapped. */
function normalize(statements: Statement[]): Statement[] {
  return statements
    .map((statement) => {
      const actions = [statement.Action].flat().sort();
      const resources = [statement.Resource].flat();
      return { Effect: statement.Effect, Action: actions.length === 1 ? actions[0]! : actions, Resource: resources.length === 1 ? resources[0] : resources };
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
