import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

/**
 * An in-process DynamoDB-protocol server (dynalite) on a loopback port: in
 * memory, or on disk under `path`. Used by `npm start` and the tests.
 */
export async function startEmbeddedStore(options: { path?: string; port?: number } = {}): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
