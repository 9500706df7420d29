import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, exitWithParent } from './child-protocol';

/** A fixed, small JSON answer: the upstream costs as little as an HTTP server can. */
const BODY = Buffer.from(JSON.stringify({ ok: true, items: [1, 2, 3], note: 'bench upstream' }));

/** What a bulk answer is written in: 64 KiB blocks, with backpressure. */
const BLOCK = Buffer.alloc(64 * 1024, 0x61);

/**
 * The upstream API of the proxy benchmark, alone in its process: drains the
 * request body and answers 200 with a fixed JSON body, keeping connections
 * alive. `GET /bulk/<bytes>` answers that many bytes instead (chunked, as a
 * large download or export streams): what the streaming memory figure proxies.
 */
const server = createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    const bulk = /^\/bulk\/(\d+)$/.exec(request.url ?? '');
    if (!bulk) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      response.end(BODY);
      return;
    }
    let left = Number(bulk[1]);
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = () => {
      while (left > 0) {
        const block = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        left -= block.length;
        if (!response.write(block)) return void response.once('drain', pump);
      }
      response.end();
    };
    pump();
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
