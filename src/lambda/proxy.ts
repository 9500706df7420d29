import { createProxyHandler } from '../handlers/proxy-handler';
import { observability, services } from './runtime';

/** `ANY /proxy/{proxy+}`: the bearer-validated proxy. Reads sessions, writes only rate-limit counters. */
export const handler = createProxyHandler(services, observability);
