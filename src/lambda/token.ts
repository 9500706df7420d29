import { LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError } from '../config/config';
import { EnvNames } from '../config/env-names';
import { lambdaRefreshDelegate, REFRESH_INVOKE_TIMEOUT_MS } from '../adapters/lambda-refresh-delegate';
import { tokenServicesFromEnvironment } from '../app/environment';
import { createTokenHandler } from '../handlers/token-handler';
import { observability } from './runtime';

const refreshFunction = process.env[EnvNames.refreshFunctionName];
if (!refreshFunction) throw new ConfigError([`${EnvNames.refreshFunctionName} must be set`]);

/** One attempt, no retries: see `lambdaRefreshDelegate`. */
const lambda = new LambdaClient({
  endpoint: process.env[EnvNames.lambdaEndpoint],
  maxAttempts: 1,
  // throwOnRequestTimeout: without it the SDK only logs when the request timeout passes, and keeps waiting.
  requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: REFRESH_INVOKE_TIMEOUT_MS, throwOnRequestTimeout: true }),
});

/**
 * `POST /token`: token exchange here; `refresh_token` grants go to the
 * refresh function, which alone may update sessions.
 */
export const handler = createTokenHandler(tokenServicesFromEnvironment(process.env, observability), observability, {
  grants: 'exchange',
  delegateRefresh: lambdaRefreshDelegate(lambda, refreshFunction),
});
