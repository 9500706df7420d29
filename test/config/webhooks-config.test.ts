import { loadConfig } from '../../src/config/config';

const user = (name: string) => ({ name, issuer: `https://${name}.example.com`, kind: 'user' as const, authorizedParties: ['https://app.example.com'], rules: [{ claims: { sub: 'user_*' }, scopes: ['a'] }] });
const ci = { name: 'github', issuer: 'https://token.actions.githubusercontent.com', kind: 'ci' as const, audiences: ['tollgate'], rules: [{ claims: { repository_id: '1' }, scopes: ['a'] }] };

function problems(document: unknown): string[] {
  try {
    loadConfig(document);
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
}

describe('webhooks.clerk config', () => {
  it('accepts a signing secret ref and optional trust names', () => {
    const config = loadConfig({ trust: [user('clerk'), user('clerk-eu'), ci], webhooks: { clerk: { signingSecret: 'aws-secretsmanager:tollgate/clerk-webhook#secret', trust: ['clerk', 'clerk-eu'] } } });
    expect(config.webhooks?.clerk).toEqual({ signingSecret: 'aws-secretsmanager:tollgate/clerk-webhook#secret', trust: ['clerk', 'clerk-eu'] });
  });

  it('is optional', () => {
    expect(loadConfig({ trust: [user('clerk')] }).webhooks).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['a missing signing secret', { webhooks: { clerk: {} } }, ['webhooks.clerk.signingSecret: Invalid input: expected string, received undefined']],
    ['a literal secret instead of a ref', { webhooks: { clerk: { signingSecret: 'whsec_abc' } } }, ['webhooks.clerk.signingSecret: expected a secret ref: env:NAME or aws-secretsmanager:<secret id>[#<json key>]']],
    ['an unknown key', { webhooks: { clerk: { signingSecret: 'env:X', tolerance: 600 } } }, ['webhooks.clerk.tolerance: unknown key']],
    ['an unknown provider', { webhooks: { auth0: {} } }, ['webhooks.auth0: unknown key']],
    ['an empty trust list', { webhooks: { clerk: { signingSecret: 'env:X', trust: [] } } }, ['webhooks.clerk.trust: expected a non-empty list']],
    ['a trust name that does not exist', { webhooks: { clerk: { signingSecret: 'env:X', trust: ['clerk', 'nope'] } } }, ['webhooks.clerk.trust[1]: no trust entry has this name']],
    ['a ci trust entry', { webhooks: { clerk: { signingSecret: 'env:X', trust: ['github'] } } }, ['webhooks.clerk.trust[0]: names a ci trust entry; Clerk events end user sessions only']],
  ])('reports %s by path', (_name, extra, expected) => {
    expect(problems({ trust: [user('clerk'), ci], ...extra })).toEqual(expected);
  });

  it('needs a user trust entry to act on', () => {
    expect(problems({ trust: [ci], webhooks: { clerk: { signingSecret: 'env:X' } } })).toEqual(['webhooks.clerk: no user trust entry for Clerk events to act on']);
  });
});
