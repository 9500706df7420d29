import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmbeddedStore } from '../../src/local/embedded-store';

/**
 * A DynamoDB-protocol endpoint that keeps one database per signing access key
 * and region, as DynamoDB Local does without `-sharedDb`: each request is
 * routed by its SigV4 `Credential=<key>/<date>/<region>/dynamodb/…` scope to
 * a dynalite of its own. A table created by a client with other credentials
 * or another region is not there.
 */
export interface PerAccountStore {
  endpoint: string;
  /** `<access key>/<region>` of every database that was used. */
  accounts(): string[];
  close(): Promise<void>;
}

export async function startPerAccountStore(): Promise<PerAccountStore> {
  const stores = new Map<string, Promise<Awaited<ReturnType<typeof startEmbeddedStore>>>>();
  const storeFor = (account: string) => {
    let store = stores.get(account);
    if (!store) {
      store = startEmbeddedStore();
      stores.set(account, store);
    }
    return store;
  };
  const server: Server = createServer((request, response) => {
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/dynamodb\/aws4_request/.exec(request.headers.authorization ?? '');
    if (!scope) {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazon.coral.service#MissingAuthenticationTokenException', message: 'unsigned' }));
      return;
    }
    storeFor(`${scope[1]}/${scope[2]}`).then(
      (store) => {
        const target = new URL(store.endpoint);
        const outgoing = httpRequest(
          { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: target.host } },
          (answer) => {
            response.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(response);
          },
        );
        outgoing.on('error', () => response.destroy());
        request.pipe(outgoing);
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accounts: () => [...stores.keys()],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...stores.values()].map(async (store) => (await store).close()));
    },
  };
}
