import { ConfigError, loadConfig, type TollgateConfigInput } from '../../src/config/config';

/** The deploy-only `aws` key: read by the CDK stack at synth, validated by the same `loadConfig`. */
const base: TollgateConfigInput = {
  trust: [
    {
      name: 'github',
      issuer: 'https://token.actions.githubusercontent.com',
      kind: 'ci',
      audiences: ['tollgate'],
      rules: [{ claims: { repository_id: '74' }, scopes: ['deploy'] }],
    },
  ],
};

function problems(aws: unknown): string[] {
  try {
    loadConfig({ ...base, aws });
  } catch (error) {
    return [...(error as ConfigError).problems];
  }
  return [];
}

describe('config: aws (deploy-only)', () => {
  it('fills every default when the key is absent', () => {
    expect(loadConfig(base).aws).toEqual({
      throttle: { rateLimit: 100, burstLimit: 200 },
      routeThrottle: {},
      logRetentionDays: 365,
      keyRotationDays: 30,
    });
  });

  it('keeps a complete, valid section as given', () => {
    const aws = {
      throttle: { rateLimit: 50.5, burstLimit: 100 },
      routeThrottle: { 'POST /token': { rateLimit: 10, burstLimit: 20 }, 'ANY /proxy/{proxy+}': { rateLimit: 200, burstLimit: 400 } },
      logRetentionDays: 90,
      alarmEmail: 'oncall@example.com',
      keyRotationDays: 7,
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7',
        hostedZone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' },
      },
    };
    expect(loadConfig({ ...base, aws }).aws).toEqual(aws);
  });

  it.each<[string, unknown, string]>([
    ['a zero rate', { throttle: { rateLimit: 0, burstLimit: 10 } }, 'aws.throttle.rateLimit: expected a positive number of requests per second'],
    ['a fractional burst', { throttle: { rateLimit: 1, burstLimit: 1.5 } }, 'aws.throttle.burstLimit: Invalid input: expected int, received number'],
    ['a route key without a method', { routeThrottle: { '/token': { rateLimit: 1, burstLimit: 1 } } }, 'aws.routeThrottle./token: expected "<METHOD> <resource path>", e.g. "POST /token"'],
    ['a route key with a lower-case method', { routeThrottle: { 'post /token': { rateLimit: 1, burstLimit: 1 } } }, 'aws.routeThrottle.post /token: expected "<METHOD> <resource path>", e.g. "POST /token"'],
    ['a retention CloudWatch does not offer', { logRetentionDays: 45 }, 'aws.logRetentionDays: expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653'],
    ['an alarm address that is not one', { alarmEmail: 'oncall' }, 'aws.alarmEmail: expected an email address'],
    ['a rotation period of zero days', { keyRotationDays: 0 }, 'aws.keyRotationDays: Too small: expected number to be >=1'],
    ['an upper-case domain', { customDomain: { domainName: 'Auth.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' } }, 'aws.customDomain.domainName: expected a lower-case DNS name'],
    ['a certificate that is not an ACM ARN', { customDomain: { domainName: 'auth.example.com', certificateArn: 'auth-cert' } }, 'aws.customDomain.certificateArn: expected an ACM certificate ARN'],
    ['an unknown key', { waf: true }, 'aws.waf: unknown key'],
  ])('rejects %s', (_name, aws, problem) => {
    expect(problems(aws)).toEqual([problem]);
  });
});
