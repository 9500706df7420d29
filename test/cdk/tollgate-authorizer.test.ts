import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AuthorizationType, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { WebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TollgateAuthorizer, type TollgateAuthorizerProps } from '../../cdk/tollgate-authorizer';
import { cdkJsonContext } from './synth-tollgate';

const ISSUER = 'https://auth.example.com';

function sampleStack(build: (stack: Stack, authorizer: TollgateAuthorizer) => void, props: Partial<TollgateAuthorizerProps> = {}): Template {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'Consumer');
  const authorizer = new TollgateAuthorizer(stack, 'Tollgate', { issuer: ISSUER, ...props });
  build(stack, authorizer);
  return Template.fromStack(stack);
}

describe('TollgateAuthorizer', () => {
  it('protects a REST API method with a cached REQUEST authorizer keyed on the token and the route', () => {
    const template = sampleStack(
      (stack, authorizer) => {
        const api = new RestApi(stack, 'Orders');
        api.root
          .addResource('orders')
          .addMethod('GET', new MockIntegration(), { authorizer: authorizer.forRestApi(), authorizationType: AuthorizationType.CUSTOM });
      },
      { routeScopes: { 'GET /orders': ['orders:read'] }, resultsCacheTtl: Duration.seconds(30) },
    );

    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,context.httpMethod,context.resourcePath',
      AuthorizerResultTtlInSeconds: 30,
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'CUSTOM' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          TOLLGATE_AUTHORIZER_ISSUER: ISSUER,
          TOLLGATE_AUTHORIZER_AUDIENCE: 'tollgate',
          TOLLGATE_AUTHORIZER_ROUTE_SCOPES: JSON.stringify({ 'GET /orders': ['orders:read'] }),
          TOLLGATE_AUTHORIZER_TOKEN_SOURCES: JSON.stringify([{ type: 'header', name: 'Authorization' }]),
        }),
      },
    });
  });

  it('gives its function no AWS permissions beyond writing its own logs', () => {
    const template = sampleStack((stack, authorizer) => {
      new RestApi(stack, 'Orders').root.addMethod('GET', new MockIntegration(), {
        authorizer: authorizer.forRestApi(),
        authorizationType: AuthorizationType.CUSTOM,
      });
    });
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties.PolicyDocument.Statement);
    expect(statements.map((statement) => statement.Action)).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents']]);
  });

  it('turns caching off when several token sources are configured (API Gateway would require all of them)', () => {
    const template = sampleStack(
      (stack, authorizer) => {
        new RestApi(stack, 'Orders').root.addMethod('GET', new MockIntegration(), {
          authorizer: authorizer.forRestApi(),
          authorizationType: AuthorizationType.CUSTOM,
        });
      },
      { tokenSources: [{ type: 'header', name: 'Authorization' }, { type: 'query', name: 'access_token' }] },
    );
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0, IdentitySource: Match.absent() });
  });

  it('guards a WebSocket API $connect with the token from Sec-WebSocket-Protocol', () => {
    const template = sampleStack(
      (stack, authorizer) => {
        new WebSocketApi(stack, 'Sync', {
          connectRouteOptions: { integration: new WebSocketMockIntegration('Connect'), authorizer: authorizer.forWebSocketApi() },
        });
      },
      { tokenSources: [{ type: 'protocol', marker: 'tollgate' }], routeScopes: { $connect: ['sync:write'] } },
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.header.Sec-WebSocket-Protocol'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM' });
  });

  it('refuses a cache longer than API Gateway allows, and an empty source list', () => {
    expect(() => sampleStack(() => undefined, { resultsCacheTtl: Duration.hours(2) })).toThrow('at most 1 hour');
    expect(() => sampleStack(() => undefined, { tokenSources: [] })).toThrow('at least one source');
  });

  it('asks for an issuer known at synth rather than a deploy-time value, which it could not check', () => {
    const stack = new Stack(new App(), 'Consumer');
    const deployTime = new RestApi(stack, 'Auth').url;

    expect(() => new TollgateAuthorizer(stack, 'Tollgate', { issuer: deployTime })).toThrow('TollgateAuthorizer: issuer must be known at synth');
  });

  it('passes cdk-nag on its own resources', () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'Consumer');
    new TollgateAuthorizer(stack, 'Tollgate', { issuer: ISSUER });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
