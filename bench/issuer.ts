import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDevIssuer, type DevIssuer } from '../src/local/dev-issuer';

export interface BenchIssuer {
  devIssuer: DevIssuer;
  /** A fresh GitHub Actions-like subject token (new `jti`), as `npm run dev:token -- ci` mints. */
  mintCi(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The local dev identity issuer (GitHub-like and Clerk-like discovery and
 * JWKS) on its own loopback port in the bench process, so every Tollgate the
 * bench starts trusts the same issuer and the bench can mint subject tokens
 * without a round trip.
 */
export async function startBenchIssuer(dataDir: string): Promise<BenchIssuer> {
  let devIssuer: DevIssuer | undefined;
  const server = createServer((request, response) => {
    if (!devIssuer?.handle(request, response)) response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  devIssuer = await createDevIssuer(baseUrl, join(dataDir, 'bench-issuer-key.json'));
  const issuer = devIssuer;
  return {
    devIssuer: issuer,
    mintCi: () => issuer.mint({ kind: 'ci', repository: 'acme/app', ttlSeconds: 600 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
