import { ConfigError, type TollgateConfigInput } from '../../src/config/config';
import { MAX_FUNCTION_CONFIG_BYTES, deployConfigFromText } from '../../src/config/deploy-config';
import { FULL_CONFIG } from '../cdk/test-configs';

function problems(config: unknown): string[] {
  try {
    deployConfigFromText(JSON.stringify(config), 'tollgate.config.json');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('deployConfigFromText', () => {
  it('keeps secret refs as refs, strips the deploy-only key, and tells each reader its secrets', () => {
    const deploy = deployConfigFromText(JSON.stringify(FULL_CONFIG), 'tollgate.config.json');

    expect(JSON.parse(deploy.functionConfigJson)).not.toHaveProperty('aws');
    expect(deploy.functionConfigJson).toContain('"token":"aws-secretsmanager:tollgate/upstream-token"');
    expect(deploy.secretIds).toEqual({ proxy: ['tollgate/upstream-token'], clerkWebhook: ['tollgate/clerk-webhook'] });
    expect(deploy.config.aws.keyRotationDays).toBe(14);
  });

  it.each<[string, TollgateConfigInput, string]>([
    [
      'an env: secret ref (its value would end up in the template)',
      { ...FULL_CONFIG, proxy: { ...FULL_CONFIG.proxy!, upstreamAuth: { type: 'header', name: 'X-Api-Key', value: 'env:UPSTREAM_KEY' } } },
      "proxy.upstreamAuth.value: env: refs cannot be deployed (the value would be stored in the function's environment and the template); store it in Secrets Manager and use aws-secretsmanager:<secret id>",
    ],
    [
      'a route throttle for a route the API does not have',
      { ...FULL_CONFIG, aws: { routeThrottle: { 'POST /tokens': { rateLimit: 1, burstLimit: 1 } } } },
      'aws.routeThrottle.POST /tokens: no such route; the routes are GET /.well-known/oauth-authorization-server, GET /.well-known/jwks.json, POST /token, POST /verify, POST /revoke, OPTIONS /.well-known/oauth-authorization-server, OPTIONS /.well-known/jwks.json, OPTIONS /token, OPTIONS /revoke, POST /webhooks/clerk, ANY /proxy/{proxy+}',
    ],
  ])('refuses %s', (_name, config, problem) => {
    expect(problems(config)).toEqual([problem]);
  });

  it('refuses a config too large for a Lambda environment', () => {
    const rules = Array.from({ length: 60 }, (_, index) => ({ claims: { repository_id: String(1000 + index) }, scopes: ['deploy'] }));
    const config = { ...FULL_CONFIG, trust: [{ ...FULL_CONFIG.trust[0]!, rules }, FULL_CONFIG.trust[1]!] };

    const found = problems(config);

    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^\\(root\\): the config the functions receive is \\d+ bytes; Lambda environments hold 4 KB in all, so it must stay under ${MAX_FUNCTION_CONFIG_BYTES}$`));
  });

  it('reports what the shared validator finds, by path', () => {
    expect(problems({ ...FULL_CONFIG, aws: { logRetentionDays: 45 } })).toEqual([
      'aws.logRetentionDays: expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
    ]);
  });
});
