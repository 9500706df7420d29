import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient, LeanDocumentClient, resolveEndpoint } from '../../src/adapters/dynamo-client';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('the lean document client’s store endpoint', () => {
  it.each([
    ['eu-west-1', {}, 'https://dynamodb.eu-west-1.amazonaws.com/'],
    ['cn-north-1', {}, 'https://dynamodb.cn-north-1.amazonaws.com.cn/'],
    ['us-gov-west-1', {}, 'https://dynamodb.us-gov-west-1.amazonaws.com/'],
    ['us-east-1', { useFipsEndpoint: true }, 'https://dynamodb-fips.us-east-1.amazonaws.com/'],
    ['us-east-1', { useDualstackEndpoint: true }, 'https://dynamodb.us-east-1.api.aws/'],
  ])('is the SDK’s regional endpoint in %s %j', async (region, settings, expected) => {
    const client = new DynamoDBClient({ region, credentials, ...settings });

    await expect(resolveEndpoint(client)).resolves.toBe(expected);
  });

  it('is the endpoint the environment configures for DynamoDB, as the SDK reads it', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:8000';
    try {
      const client = new DynamoDBClient({ region: 'eu-west-1', credentials });

      await expect(resolveEndpoint(client)).resolves.toBe('http://127.0.0.1:8000');
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    }
  });

  it('builds the lean client by default and the SDK-only one on request', () => {
    const lean = createDocumentClient({ region: 'eu-west-1', env: {} });
    const sdk = createDocumentClient({ region: 'eu-west-1', env: {}, transport: 'sdk' });

    expect(lean).toBeInstanceOf(LeanDocumentClient);
    expect(sdk).not.toBeInstanceOf(LeanDocumentClient);
    lean.destroy();
    sdk.destroy();
  });
});
