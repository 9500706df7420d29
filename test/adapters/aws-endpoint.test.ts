import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { dynamoEndpoint } from '../../src/adapters/aws-dynamo-client';
import { awsServiceEndpoint } from '../../src/adapters/aws-endpoint';
import { secretsManagerDualStackSuffix } from '../../src/adapters/aws-secrets-manager';

// Partitions with their own DNS suffixes, and FIPS/dual-stack support or not.
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-7', 'cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1'];
const SETTINGS = [
  { fips: false, dualStack: false },
  { fips: true, dualStack: false },
  { fips: false, dualStack: true },
  { fips: true, dualStack: true },
];

function sdkEndpoint(client: SecretsManagerClient | LambdaClient | DynamoDBClient, region: string, fips: boolean, dualStack: boolean): string {
  try {
    // Tollgate's store client does not use account-ID endpoints.
    return client.config.endpointProvider({ Region: region, UseFIPS: fips, UseDualStack: dualStack, AccountIdEndpointMode: 'disabled' } as never).url.href;
  } catch {
    return 'refused';
  }
}

function ours(hostPrefix: string, envSuffix: string, region: string, fips: boolean, dualStack: boolean): string {
  try {
    const env = { AWS_USE_FIPS_ENDPOINT: String(fips), AWS_USE_DUALSTACK_ENDPOINT: String(dualStack) };
    return new URL(awsServiceEndpoint({ hostPrefix, envSuffix, region, env, dualStackSuffix: hostPrefix === 'secretsmanager' ? secretsManagerDualStackSuffix : undefined })).href;
  } catch {
    return 'refused';
  }
}

describe('awsServiceEndpoint', () => {
  it.each(REGIONS)('resolves Secrets Manager and Lambda in %s as the SDK clients do', (region) => {
    const secrets = new SecretsManagerClient({ region });
    const lambda = new LambdaClient({ region });

    for (const { fips, dualStack } of SETTINGS) {
      expect(ours('secretsmanager', 'SECRETS_MANAGER', region, fips, dualStack)).toBe(sdkEndpoint(secrets, region, fips, dualStack));
      expect(ours('lambda', 'LAMBDA', region, fips, dualStack)).toBe(sdkEndpoint(lambda, region, fips, dualStack));
    }
  });

  it.each([...REGIONS, 'local'])('resolves DynamoDB in %s as the SDK client does (account-ID endpoints off)', (region) => {
    const dynamo = new DynamoDBClient({ region });

    for (const { fips, dualStack } of SETTINGS) {
      const env = { AWS_USE_FIPS_ENDPOINT: String(fips), AWS_USE_DUALSTACK_ENDPOINT: String(dualStack) };
      let ours: string;
      try {
        ours = new URL(dynamoEndpoint(region, env)).href;
      } catch {
        ours = 'refused';
      }
      expect(ours).toBe(sdkEndpoint(dynamo, region, fips, dualStack));
    }
  });

  it('takes the service-specific configured endpoint before the global one', () => {
    const env = { AWS_ENDPOINT_URL: 'http://global.test', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://sm.test' };

    expect(awsServiceEndpoint({ hostPrefix: 'secretsmanager', envSuffix: 'SECRETS_MANAGER', region: 'eu-west-1', env })).toBe('http://sm.test');
    expect(awsServiceEndpoint({ hostPrefix: 'lambda', envSuffix: 'LAMBDA', region: 'eu-west-1', env })).toBe('http://global.test');
  });

  it('ignores configured endpoints when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true', () => {
    const env = { AWS_ENDPOINT_URL_LAMBDA: 'http://lambda.test', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' };

    expect(awsServiceEndpoint({ hostPrefix: 'lambda', envSuffix: 'LAMBDA', region: 'eu-west-1', env })).toBe('https://lambda.eu-west-1.amazonaws.com');
  });
});
