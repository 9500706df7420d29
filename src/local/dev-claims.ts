import { createHash, randomUUID } from 'node:crypto';

/**
 * Realistic claim sets of GitHub Actions OIDC tokens and Clerk session tokens
 * (v2), shaped like the documented examples, for the dev identity issuer and
 * the tests.
 */

export interface GithubTokenOptions {
  repository?: string;
  repositoryId?: string;
  ownerId?: string;
  ref?: string;
  environment?: string;
  actor?: string;
  workflow?: string;
  jobWorkflowRef?: string;
  eventName?: string;
  audience?: string | string[];
  /** Use the immutable `sub` format GitHub gives repositories created, renamed or transferred since 2026-07-15. */
  immutableSub?: boolean;
  ttlSeconds?: number;
  jti?: string;
  extra?: Record<string, unknown>;
}

/** Stable numeric ids for a repository name (GitHub ids are decimal strings), so rules can match on ids. */
export function devRepositoryIds(repository: string): { repositoryId: string; ownerId: string } {
  const numeric = (text: string) => String(createHash('sha256').update(text).digest().readUInt32BE(0) % 90_000_000 + 10_000_000);
  return { repositoryId: numeric(`repo:${repository}`), ownerId: numeric(`owner:${repository.split('/')[0]}`) };
}

export function githubActionsClaims(issuer: string, nowSeconds: number, options: GithubTokenOptions = {}): Record<string, unknown> {
  const repository = options.repository ?? 'acme/app';
  const [owner = 'acme', repo = 'app'] = repository.split('/');
  const ids = devRepositoryIds(repository);
  const repositoryId = options.repositoryId ?? ids.repositoryId;
  const ownerId = options.ownerId ?? ids.ownerId;
  const ref = options.ref ?? 'refs/heads/main';
  const workflowFile = `${repository}/.github/workflows/deploy.yml@${ref}`;
  const context = options.environment ? `environment:${options.environment}` : `ref:${ref}`;
  const sub = options.immutableSub ? `repo:${owner}@${ownerId}/${repo}@${repositoryId}:${context}` : `repo:${repository}:${context}`;
  return {
    jti: options.jti ?? randomUUID(),
    sub,
    ...(options.environment ? { environment: options.environment } : {}),
    aud: options.audience ?? 'tollgate',
    ref,
    sha: 'd6fde92930d4715a2b49857d24b940956b26d2d3',
    repository,
    repository_owner: owner,
    repository_owner_id: ownerId,
    repository_id: repositoryId,
    repository_visibility: 'private',
    actor_id: '12',
    actor: options.actor ?? 'octocat',
    run_id: '9001',
    run_number: '10',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    workflow: options.workflow ?? 'deploy',
    workflow_ref: workflowFile,
    job_workflow_ref: options.jobWorkflowRef ?? workflowFile,
    head_ref: '',
    base_ref: '',
    event_name: options.eventName ?? 'push',
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    iss: issuer,
    nbf: nowSeconds - 5,
    iat: nowSeconds,
    exp: nowSeconds + (options.ttlSeconds ?? 300),
    ...options.extra,
  };
}

export interface ClerkTokenOptions {
  sub?: string;
  sid?: string;
  role?: string;
  orgId?: string;
  orgRole?: string;
  orgSlug?: string;
  azp?: string;
  pending?: boolean;
  ttlSeconds?: number;
  jti?: string;
  extra?: Record<string, unknown>;
}

export function clerkSessionClaims(issuer: string, nowSeconds: number, options: ClerkTokenOptions = {}): Record<string, unknown> {
  return {
    azp: options.azp ?? 'http://localhost:3000',
    exp: nowSeconds + (options.ttlSeconds ?? 60),
    fva: [7, -1],
    iat: nowSeconds,
    iss: issuer,
    jti: options.jti ?? randomUUID().replace(/-/g, '').slice(0, 20),
    nbf: nowSeconds - 5,
    sid: options.sid ?? `sess_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    sub: options.sub ?? 'user_123',
    v: 2,
    ...(options.pending ? { sts: 'pending' } : {}),
    ...(options.orgId
      ? { o: { id: options.orgId, slg: options.orgSlug ?? 'acme', rol: options.orgRole ?? 'member', per: 'read', fpm: '1' } }
      : {}),
    ...(options.role ? { metadata: { role: options.role } } : {}),
    ...options.extra,
  };
}
