import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { announceReady, exitWithParent } from './child-protocol';

/**
 * The DynamoDB-protocol store (dynalite, in memory) alone in its process, so
 * the measurements count Tollgate's CPU and not the store's, as in AWS where
 * the store is someone else's machine. It counts every request at its door
 * (by operation, from `X-Amz-Target`), whatever client sent it, and serves
 * the counts as JSON on a second loopback port (`countsUrl`): what Tollgate
 * really asked of its store, retries included.
 */
const counts: Record<string, number> = Object.create(null);
const store = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
store.on('request', (request: IncomingMessage) => {
  const operation = String(request.headers['x-amz-target'] ?? 'unknown').split('.').at(-1) ?? 'unknown';
  counts[operation] = (counts[operation] ?? 0) + 1;
});
await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', () => resolve()));

const door = createServer((_request, response) => {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ total, byOperation: counts }));
});
await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', () => resolve()));

announceReady({
  endpoint: `http://127.0.0.1:${(store.address() as AddressInfo).port}`,
  countsUrl: `http://127.0.0.1:${(door.address() as AddressInfo).port}`,
});
exitWithParent(async () => {
  door.close();
  await new Promise<void>((resolve) => store.close(() => resolve()));
});
