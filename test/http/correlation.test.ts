import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { httpHandler } from '../../src/http/middleware';
import type { HttpEvent } from '../../src/http/api-event';

describe('the shared middy chain', () => {
  it('puts API Gateway’s request id on every log line as the correlation id', async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (String(chunk).startsWith('{')) {
        lines.push(String(chunk));
        return true;
      }
      return write(chunk as string, ...(rest as []));
    });
    try {
      const logger = new Logger({ serviceName: 'correlation-test', logLevel: 'INFO' });
      const metrics = new Metrics({ namespace: 'Tollgate', serviceName: 'correlation-test' });
      const handler = httpHandler({ logger, metrics }, async () => {
        logger.info('inside the handler');
        return { statusCode: 204, body: '' };
      });
      const event = { requestContext: { requestId: 'req-42' }, headers: {} } as unknown as HttpEvent;
      const context = { functionName: 'f', awsRequestId: 'lambda-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

      await handler(event, context);
    } finally {
      spy.mockRestore();
    }
    const logged = lines.map((line) => JSON.parse(line)).find((line) => line.message === 'inside the handler');
    expect(logged).toMatchObject({ correlation_id: 'req-42' });
  });
});
