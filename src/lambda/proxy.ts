import { composeProxy } from '../app/compose-functions';
import { createStreamingProxyHandler } from '../handlers/proxy-handler';
import { streamingLambda } from './response-stream';
import { config, observability, runtime } from './runtime';

/**
 * `ANY /proxy/{proxy+}`: the bearer-validated proxy, streaming its answers
 * (API Gateway's `responseTransferMode: STREAM`). Reads sessions, writes only
 * rate-limit claims and DPoP proof markers.
 */
export const handler = streamingLambda(createStreamingProxyHandler(composeProxy(config, runtime), observability));
