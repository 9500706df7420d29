/**
 * The HTTP interface: one table for the CDK stack (API Gateway resources and
 * the function behind each) and the local server, so the two cannot drift.
 * Part of the contract: it imports nothing.
 */
export type FunctionName = 'token' | 'refresh' | 'verify' | 'revoke' | 'metadata' | 'proxy' | 'clerkWebhook';

export interface ApiRoute {
  /** `OPTIONS` marks a browser-facing resource: its function answers CORS preflights (`src/http/cors-middleware.ts`). */
  method: 'GET' | 'POST' | 'OPTIONS' | 'ANY';
  resource: string;
  fn: FunctionName;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', resource: '/.well-known/oauth-authorization-server', fn: 'metadata' },
  { method: 'GET', resource: '/.well-known/jwks.json', fn: 'metadata' },
  { method: 'POST', resource: '/token', fn: 'token' },
  { method: 'POST', resource: '/verify', fn: 'verify' },
  { method: 'POST', resource: '/revoke', fn: 'revoke' },
  // Browser-facing (CORS): preflights go to the route's own function, which answers them from the one policy before
  // anything else runs. `/verify` and the webhook are not browser-facing; the proxy's ANY covers OPTIONS.
  { method: 'OPTIONS', resource: '/.well-known/oauth-authorization-server', fn: 'metadata' },
  { method: 'OPTIONS', resource: '/.well-known/jwks.json', fn: 'metadata' },
  { method: 'OPTIONS', resource: '/token', fn: 'token' },
  { method: 'OPTIONS', resource: '/revoke', fn: 'revoke' },
  { method: 'POST', resource: '/webhooks/clerk', fn: 'clerkWebhook' },
  { method: 'ANY', resource: '/proxy/{proxy+}', fn: 'proxy' },
];
