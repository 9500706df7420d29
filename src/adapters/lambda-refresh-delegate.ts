import { InvokeCommand, type LambdaClient } from './aws-lambda';
import { UnavailableError } from '../domain/errors';
// API Gateway's own event and result types: this adapter hands the event on as API Gateway sent it.
import type { APIGatewayProxyEvent as HttpEvent, APIGatewayProxyResult as HttpResult } from 'aws-lambda';

/**
 * Hands a `POST /token` event carrying a `refresh_token` grant to the refresh
 * function (Lambda Invoke, request-response) and returns its answer, so the
 * exchange function never holds the refresh function's rights (UpdateItem on
 * sessions). The refresh function answers like any API Gateway integration,
 * errors included, so its response goes back to the client unchanged.
 *
 * Not retried here: the client decides. A refresh that reached the function
 * may have rotated the token; the client's prompt retry with the same token
 * gets the same successor within the grace window (docs/token-service.md,
 * "Refresh"), while a retry of ours could land past it. A throttled or
 * unreachable refresh function is a 503 with `Retry-After`; a refresh
 * function that crashed (`FunctionError`) is a 500, as API Gateway would have
 * answered it.
 */
export function lambdaRefreshDelegate(client: LambdaClient, functionName: string): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    let result;
    try {
      result = await client.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }),
      );
    } catch (error) {
      throw new UnavailableError('refresh_function', error, 1);
    }
    if (result.FunctionError) throw new Error(`refresh function failed (${result.FunctionError})`);
    const answer = parseResult(result.Payload);
    if (!answer) throw new Error('refresh function returned no API Gateway result');
    return answer;
  };
}

function parseResult(payload: Uint8Array | undefined): HttpResult | undefined {
  if (!payload) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  const candidate = value as Partial<HttpResult> | null;
  if (!candidate || typeof candidate.statusCode !== 'number' || (candidate.body !== undefined && typeof candidate.body !== 'string')) return undefined;
  return candidate as HttpResult;
}
