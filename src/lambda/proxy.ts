import { proxyServicesFromEnvironment } from '../app/environment';
import { createProxyHandler } from '../handlers/proxy-handler';
import { observability } from './runtime';

/** `ANY /proxy/{proxy+}`: the bearer-validated proxy. Reads sessions, writes only rate-limit counters and DPoP proof markers. */
export const handler = createProxyHandler(proxyServicesFromEnvironment(process.env, observability), observability);
