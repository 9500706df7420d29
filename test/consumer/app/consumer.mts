// An ES module consumer: every subpath's types, as an app uses them.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { AuthorizationType, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { createTollgateClient, isTollgateError, memoryStorage, type TollgateClient } from 'tollgate/client';
import { bearerToken, createVerifier, hasScope, type TollgateClaims } from 'tollgate/verify';
import { TollgateAuthorizer, TollgateService, type TollgateConfigInput, type TollgateServiceProps, type TokenSource } from 'tollgate/cdk';

export const client: TollgateClient = createTollgateClient({
  baseUrl: 'https://auth.example.com',
  storage: memoryStorage(),
  getSubjectToken: async () => 'a-subject-token',
});

const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'tollgate' });

export async function allowed(authorization: string | null): Promise<boolean> {
  try {
    const claims: TollgateClaims = await verifier.verify(bearerToken(authorization) ?? '');
    return hasScope(claims, 'orders:read');
  } catch (error) {
    if (isTollgateError(error)) return false;
    return false;
  }
}

const config: TollgateConfigInput = {
  trust: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { repository_id: '74' }, scopes: ['orders:read'] }] }],
};
const app = new App();
const stack = new Stack(app, 'Consumer');
const props: TollgateServiceProps = { config };
const service = new TollgateService(stack, 'Tollgate', props);
const sources: TokenSource[] = [{ type: 'header', name: 'Authorization' }];
const authorizer = new TollgateAuthorizer(stack, 'Authorizer', { issuer: 'https://auth.example.com', tokenSources: sources, resultsCacheTtl: Duration.seconds(30) });
new RestApi(stack, 'Orders').root.addMethod('GET', new MockIntegration(), { authorizer: authorizer.forRestApi(), authorizationType: AuthorizationType.CUSTOM });
export const outputs: string[] = [service.tables.sessions.tableName, service.tables.guards.tableName, service.issuer, service.apiUrl];
