import { composeProxy } from '../app/compose-functions';
import { createProxyHandler } from '../handlers/proxy-handler';
import { config, observability, runtime } from './runtime';

/** `ANY /proxy/{proxy+}`: the bearer-validated proxy. Reads sessions, writes only rate-limit counters and DPoP proof markers. */
export const handler = createProxyHandler(composeProxy(config, runtime), observability);
