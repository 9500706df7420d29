import { EnvNames } from '../contract/env-names';
import { LambdaClient } from '../adapters/aws-lambda';
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
    // The request timeout runs to the answer's last byte: the refresh function's whole answer, not its headers only.
    timeouts: { connectionTimeoutMs: 1_000, requestTimeoutMs: REFRESH_INVOKE_TIMEOUT_MS },
  });
  return lambdaRefreshDelegate(lambda, functionName);
}
