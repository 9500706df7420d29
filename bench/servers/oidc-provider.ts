import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { announceReady, exitWithParent } from './child-protocol';

/**
 * The peer of the token endpoint section: node-oidc-provider, the reference
 * OAuth server in Node, as its quick start runs it (the in-memory adapter),
 * issuing RS256 JWT access tokens (RFC 9068, resource indicators with
 * `accessTokenFormat: 'jwt'`) for the client credentials grant, alone in its
 * process so the bench can read its CPU time. Its client authenticates with
 * `client_secret_basic` (the cheapest authentication the grant allows).
 *
 * Env: BENCH_PEER_ALG (RS256 by default, the algorithm of its access tokens).
 */
export const PEER_CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789abcdef' };
export const PEER_RESOURCE = 'https://api.bench.invalid';
export const PEER_SCOPE = 'orders:read';

async function main(): Promise<void> {
  const alg = process.env.BENCH_PEER_ALG ?? 'RS256';
  const { privateKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg, use: 'sig' };
  const provider = new Provider('http://127.0.0.1', {
    clients: [{ client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [jwk] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEER_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: PEER_SCOPE, audience: 'tollgate', accessTokenFormat: 'jwt', accessTokenTTL: 900, jwt: { sign: { alg } } }),
      },
    },
  });
  // Quiet: the bench measures the token path, not warnings on stderr.
  provider.on('server_error', () => undefined);
  const server = provider.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  announceReady({ baseUrl: `http://127.0.0.1:${port}`, tokenPath: '/token', client: PEER_CLIENT, resource: PEER_RESOURCE, scope: PEER_SCOPE, alg });
  exitWithParent(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

main().catch((error: unknown) => {
  process.stderr.write(`oidc-provider bench server failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
