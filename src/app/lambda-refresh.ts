import { LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EnvNames } from '../contract/env-names';
import { lambdaRefreshDelegate } from '../adapters/lambda-refresh-delegate';
import { REFRESH_INVOKE_TIMEOUT_MS } from '../contract/refresh-function';
import { sdkCredentials } from '../adapters/sdk-credentials';
import type { HttpEvent, HttpResult } from '../http/api-event';
import type { Env } from './runtime';

/**
 * The token function's hand-over of `refresh_token` grants to the refresh
 * function: a Lambda client with one attempt and no retries (see
 * `lambdaRefreshDelegate`). Loaded by `./refresh-delegate` on the first
 * refresh grant only, so exchanges never load the Lambda client.
 */
export function createRefreshDelegate(env: Env, functionName: string): (event: HttpEvent) => Promise<HttpResult> {
  const endpoint = env[EnvNames.lambdaEndpoint];
  const lambda = new LambdaClient({
    endpoint,
    region: env.AWS_REGION,
    credentials: sdkCredentials(env, endpoint),
    maxAttempts: 1,
    // throwOnRequestTimeout: without it the SDK only logs when the request timeout passes, and keeps waiting.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: REFRESH_INVOKE_TIMEOUT_MS, throwOnRequestTimeout: true }),
  });
  return lambdaRefreshDelegate(lambda, functionName);
}
