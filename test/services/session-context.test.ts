import { githubActionsClaims, clerkSessionClaims } from '../../src/local/dev-claims';
import { sessionContext } from '../../src/services/session-context';

describe('sessionContext for ci sessions', () => {
  it('copies the GitHub Actions claims into gh', () => {
    const claims = githubActionsClaims('https://token.actions.githubusercontent.com', 1_700_000_000, {
      repository: 'octo-org/octo-repo',
      repositoryId: '74',
      ownerId: '65',
      environment: 'prod',
      actor: 'octocat',
      workflow: 'example-workflow',
    });

    expect(sessionContext('ci', claims)).toEqual({
      gh: {
        repository: 'octo-org/octo-repo',
        repository_id: '74',
        repository_owner: 'octo-org',
        repository_owner_id: '65',
        ref: 'refs/heads/main',
        workflow: 'example-workflow',
        job_workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
        run_id: '9001',
        run_attempt: '1',
        environment: 'prod',
        actor: 'octocat',
        event_name: 'push',
        sha: 'd6fde92930d4715a2b49857d24b940956b26d2d3',
      },
    });
  });

  it.each([
    ['numbers become strings', { repository_id: 74, run_id: 9001 }, { repository_id: '74', run_id: '9001' }],
    ['empty strings are left out', { repository: 'a/b', environment: '' }, { repository: 'a/b' }],
    ['objects, arrays, booleans and null are left out', { repository: { a: 1 }, ref: ['x'], actor: true, workflow: null }, {}],
    ['unlisted claims are left out', { repository: 'a/b', sub: 'repo:a/b:ref:refs/heads/main', head_ref: 'x', enterprise: 'e' }, { repository: 'a/b' }],
  ])('%s', (_name, claims, gh) => {
    expect(sessionContext('ci', claims)).toEqual({ gh });
  });

  it('never carries user or act context', () => {
    expect(sessionContext('ci', { repository: 'a/b', sid: 'sess_1', act: { sub: 'x' }, o: { id: 'org_1' } })).toEqual({ gh: { repository: 'a/b' } });
  });
});

describe('sessionContext for user sessions', () => {
  it('takes the Clerk session id and organisation from a v2 token', () => {
    const claims = clerkSessionClaims('https://clerk.example.com', 1_700_000_000, { sid: 'sess_123', orgId: 'org_123', orgRole: 'admin', orgSlug: 'org-slug' });

    expect(sessionContext('user', claims)).toEqual({ user: { sid: 'sess_123', org: { id: 'org_123', role: 'admin', slug: 'org-slug' } } });
  });

  it.each([
    ['v2 without an organisation', { sid: 'sess_1', sub: 'user_1' }, { user: { sid: 'sess_1' } }],
    ['v2 organisation with only an id', { sid: 'sess_1', o: { id: 'org_1' } }, { user: { sid: 'sess_1', org: { id: 'org_1' } } }],
    ['v2 organisation of wrong types', { sid: 'sess_1', o: { id: 5, rol: ['admin'] } }, { user: { sid: 'sess_1' } }],
    ['v2 organisation as an array is ignored', { sid: 'sess_1', o: ['org_1'] }, { user: { sid: 'sess_1' } }],
    ['v1 org_id and org_role', { sid: 'sess_1', org_id: 'org_1', org_role: 'org:admin', org_slug: 'acme' }, { user: { sid: 'sess_1', org: { id: 'org_1', role: 'org:admin' } } }],
    ['v1 org_id without a role', { sid: 'sess_1', org_id: 'org_1' }, { user: { sid: 'sess_1', org: { id: 'org_1' } } }],
    ['v1 org_role without org_id is ignored', { sid: 'sess_1', org_role: 'org:admin' }, { user: { sid: 'sess_1' } }],
    ['no sid and no org: no user context', { sub: 'user_1' }, {}],
    ['a non-string sid is ignored', { sid: 42 }, {}],
    ['impersonation (act)', { sid: 'sess_1', act: { iss: 'https://dashboard.clerk.com', sid: 'sess_456', sub: 'user_456' } }, { user: { sid: 'sess_1' }, act: { sub: 'user_456', iss: 'https://dashboard.clerk.com' } }],
    ['act without iss', { act: { sub: 'user_456' } }, { act: { sub: 'user_456' } }],
    ['act without sub is ignored', { act: { iss: 'https://dashboard.clerk.com' } }, {}],
    ['act that is not an object is ignored', { act: 'user_456' }, {}],
    ['metadata is never copied', { sid: 'sess_1', metadata: { role: 'api-client' }, unsafe_metadata: { role: 'admin' } }, { user: { sid: 'sess_1' } }],
  ])('%s', (_name, claims, expected) => {
    expect(sessionContext('user', claims)).toEqual(expected);
  });

  it('never carries gh context', () => {
    expect(sessionContext('user', { repository: 'a/b', sid: 'sess_1' })).toEqual({ user: { sid: 'sess_1' } });
  });
});
