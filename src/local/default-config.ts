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
    // A dev server on any local port (Vite, Next.js, …) may call every browser-facing route.
    cors: { allowedOrigins: ['http://localhost:*', 'http://127.0.0.1:*'] },
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

/** The environment variable holding the echo upstream's API key (a fresh random one per start unless set). */
export const DEV_ECHO_API_KEY_ENV = 'TOLLGATE_ECHO_API_KEY';

/**
 * The proxy the local runtime adds when the config has none: to the built-in
 * echo upstream, with an API key injected as `X-Api-Key` and the walk-through's
 * routes. The dev ci token (acme/app on main) holds `orders:read` and
 * `deploy`, so it can read orders, is refused `orders:write` (403
 * `insufficient_scope`), and nobody is granted `billing:admin` by default.
 * Anything else matches no rule (403 `route_not_allowed`).
 */
export function devProxyConfig(upstreamUrl: string): NonNullable<TollgateConfigInput['proxy']> {
  return {
    upstreamUrl,
    upstreamAuth: { type: 'header', name: 'X-Api-Key', value: `env:${DEV_ECHO_API_KEY_ENV}` },
    routes: [
      { name: 'orders-read', methods: ['GET', 'HEAD'], path: '/orders/**', scopes: ['orders:read'] },
      { name: 'orders-write', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/orders/**', scopes: ['orders:write'] },
      { name: 'deployments', methods: ['POST'], path: '/deployments', scopes: ['deploy'] },
      { name: 'profile', methods: ['GET'], path: '/me', scopes: ['profile:read'] },
      { name: 'billing', methods: ['*'], path: '/billing/**', scopes: ['billing:admin'] },
    ],
  };
}
