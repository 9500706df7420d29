import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MockIntegration } from 'aws-cdk-lib/aws-apigateway';
import { gatewayCorsHeaders, TollgateApi } from '../../cdk/tollgate-api';

const aws = { throttle: { rateLimit: 10, burstLimit: 20 }, routeThrottle: {}, logRetentionDays: 30 as const };

function gatewayResponses(cors?: { allowedOrigins: string[]; allowCredentials: boolean }) {
  const stack = new Stack(new App(), 'Api');
  const api = new TollgateApi(stack, 'Http', { aws, cors });
  api.api.root.addMethod('GET', new MockIntegration());
  return Template.fromStack(stack).findResources('AWS::ApiGateway::GatewayResponse');
}

describe("API Gateway's own answers and CORS", () => {
  it('names the one exact allowed origin on every gateway response, throttling included, so a browser sees the real status', () => {
    const responses = Object.values(gatewayResponses({ allowedOrigins: ['https://app.example.com'], allowCredentials: false }));
    expect(responses.map((r) => r.Properties.ResponseType)).toEqual(expect.arrayContaining(['THROTTLED', 'DEFAULT_4XX', 'DEFAULT_5XX', 'INTEGRATION_TIMEOUT']));
    for (const response of responses) {
      expect(response.Properties.ResponseParameters).toEqual(
        expect.objectContaining({
          'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
          'gatewayresponse.header.Access-Control-Expose-Headers': "'WWW-Authenticate, Retry-After, DPoP-Nonce'",
          'gatewayresponse.header.Vary': "'Origin'",
        }),
      );
      expect(response.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Credentials']).toBeUndefined();
    }
  });

  it('echoes the request Origin when several origins or a pattern are allowed (documented: fixed bodies only), never *', () => {
    for (const response of Object.values(gatewayResponses({ allowedOrigins: ['https://app.example.com', 'https://*.preview.example.com'], allowCredentials: true }))) {
      expect(response.Properties.ResponseParameters).toEqual(
        expect.objectContaining({
          'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin',
          'gatewayresponse.header.Access-Control-Allow-Credentials': "'true'",
        }),
      );
    }
    expect(JSON.stringify(gatewayCorsHeaders({ allowedOrigins: ['https://a.example'], allowCredentials: true }))).not.toContain("'*'");
  });

  it('adds no CORS header without a cors config', () => {
    for (const response of Object.values(gatewayResponses())) {
      expect(Object.keys(response.Properties.ResponseParameters).filter((name) => name.includes('Access-Control'))).toEqual([]);
    }
  });
});
