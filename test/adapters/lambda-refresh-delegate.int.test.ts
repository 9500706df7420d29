import { LambdaClient } from '../../src/adapters/aws-lambda';
import { lambdaRefreshDelegate } from '../../src/adapters/lambda-refresh-delegate';
import { UnavailableError } from '../../src/domain/errors';
import type { HttpEvent } from '../../src/http/api-event';
import { startFakeLambda, type FakeLambda } from '../support/fake-lambda';

/** Against a loopback fake of the Lambda Invoke API (test/support/fake-lambda.ts): the real service is out of reach here. */
describe('lambdaRefreshDelegate', () => {
  let lambda: FakeLambda;
  let client: LambdaClient;
  const event = {
    resource: '/token',
    path: '/token',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.from('grant_type=refresh_token&refresh_token=tgr_x.y').toString('base64'),
    isBase64Encoded: true,
  } as unknown as HttpEvent;

  beforeAll(async () => {
    lambda = await startFakeLambda();
    client = new LambdaClient({ endpoint: lambda.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterEach(() => lambda.throttle(false));
  afterAll(async () => {
    client?.destroy();
    await lambda?.close();
  });

  it('hands the original event to the refresh function and returns its answer unchanged', async () => {
    let received: unknown;
    lambda.register('refresh-fn', async (payload) => {
      received = payload;
      return { statusCode: 400, headers: { 'Content-Type': 'application/json' }, body: '{"error":"invalid_grant"}' };
    });

    const result = await lambdaRefreshDelegate(client, 'refresh-fn')(event);

    expect(received).toEqual(event);
    expect(result).toEqual({ statusCode: 400, headers: { 'Content-Type': 'application/json' }, body: '{"error":"invalid_grant"}' });
  });

  it('reports a throttled refresh function as unavailable (503 with Retry-After)', async () => {
    lambda.register('busy-fn', async () => ({ statusCode: 200, body: '' }));
    lambda.throttle(true);

    const failure = await lambdaRefreshDelegate(client, 'busy-fn')(event).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UnavailableError);
    expect((failure as UnavailableError).dependency).toBe('refresh_function');
  });

  it.each<[string, () => Promise<unknown>]>([
    ['crashed', async () => Promise.reject(new Error('boom'))],
    ['answered something that is not an API Gateway result', async () => ({ hello: 'world' })],
  ])('fails as a server error (500) when the refresh function %s', async (_name, fn) => {
    lambda.register('odd-fn', fn);

    const failure = await lambdaRefreshDelegate(client, 'odd-fn')(event).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(UnavailableError);
  });
});
