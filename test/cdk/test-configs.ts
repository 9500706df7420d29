import type { TollgateConfigInput } from '../../src/config/config';

/** A production-shaped config: GitHub Actions and Clerk, Clerk's webhooks, the proxy with an upstream secret, throttles, alarms by e-mail. */
export const FULL_CONFIG: TollgateConfigInput = {
  audience: 'tollgate',
  trust: [
    {
      name: 'github',
      issuer: 'https://token.actions.githubusercontent.com',
      kind: 'ci',
      audiences: ['tollgate'],
      rules: [{ claims: { repository_id: '74', ref: 'refs/heads/main' }, scopes: ['deploy', 'orders:read'] }],
    },
    {
      name: 'clerk',
      issuer: 'https://clerk.example.com',
      kind: 'user',
      authorizedParties: ['https://app.example.com'],
      rules: [{ claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read'] }],
    },
  ],
  proxy: {
    upstreamUrl: 'https://api.example.com',
    routes: [
      { name: 'orders', methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] },
      { methods: ['POST'], path: '/deployments', scopes: ['deploy'] },
    ],
    upstreamAuth: { type: 'bearer', token: 'aws-secretsmanager:tollgate/upstream-token' },
    timeoutMs: 8_000,
  },
  webhooks: { clerk: { signingSecret: 'aws-secretsmanager:tollgate/clerk-webhook#signingSecret' } },
  aws: {
    throttle: { rateLimit: 50, burstLimit: 100 },
    routeThrottle: { 'POST /token': { rateLimit: 10, burstLimit: 20 }, 'ANY /proxy/{proxy+}': { rateLimit: 40, burstLimit: 80 } },
    logRetentionDays: 90,
    alarmEmail: 'oncall@example.com',
    keyRotationDays: 14,
  },
};

/** The token service alone, behind a custom domain with its Route 53 alias. */
export const TOKENS_ONLY_CONFIG: TollgateConfigInput = {
  trust: FULL_CONFIG.trust,
  aws: {
    customDomain: {
      domainName: 'auth.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7',
      hostedZone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' },
    },
  },
};
