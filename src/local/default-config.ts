import type { TollgateConfigInput } from '../config/config';
import { devRepositoryIds } from './dev-claims';
import type { DevIssuer } from './dev-issuer';

/** The walk-through's repository: its ids are what the default trust rule matches on. */
export const DEV_REPOSITORY = 'acme/app';

/**
 * The config `npm start` uses without `TOLLGATE_CONFIG`: trusts the dev
 * identity issuer for both kinds, with rules shaped like production ones
 * (GitHub by repository and owner id, never by `sub`; Clerk by role claims).
 */
export function defaultDevConfig(devIssuer: Pick<DevIssuer, 'githubIssuer' | 'clerkIssuer'>): TollgateConfigInput {
  const ids = devRepositoryIds(DEV_REPOSITORY);
  return {
    audience: 'tollgate',
    trust: [
      {
        name: 'github',
        issuer: devIssuer.githubIssuer,
        kind: 'ci',
        audiences: ['tollgate'],
        rules: [
          { claims: { repository_owner_id: ids.ownerId }, scopes: ['orders:read'] },
          {
            claims: { repository_id: ids.repositoryId, ref: 'refs/heads/main' },
            scopes: ['orders:read', 'deploy'],
          },
        ],
      },
      {
        name: 'clerk',
        issuer: devIssuer.clerkIssuer,
        kind: 'user',
        authorizedParties: ['http://localhost:3000'],
        rules: [
          { claims: { sub: 'user_*' }, scopes: ['profile:read'] },
          { claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read', 'orders:write'] },
          { claims: { 'o.rol': ['admin', 'org:admin'] }, scopes: ['orders:admin'] },
        ],
      },
    ],
  };
}
