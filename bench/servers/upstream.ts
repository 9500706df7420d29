import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, exitWithParent } from './child-protocol';

/** A fixed, small JSON answer: the upstream costs as little as an HTTP server can. */
const BODY = Buffer.from(JSON.stringify({ ok: true, items: [1, 2, 3], note: 'bench upstream' }));

/**
 * The upstream API of the proxy benchmark, alone in its process: drains the
 * request body and answers 200 with a fixed JSON body, keeping connections alive.
 */
const server = createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    response.end(BODY);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
exitWithParent(async () => {
  server.closeAllConnections();
  server.close();
});
