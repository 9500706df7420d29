import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverResponseSink } from '../../src/local/api-gateway-adapter';
import type { ResponseHead } from '../../src/http/response-stream';

/**
 * The local server's response sink over a real loopback server: a whole
 * answer goes out with its `Content-Length` (one write, no chunked framing),
 * except where RFC 9110 §6.4.1 says an answer has no content.
 */
describe('serverResponseSink: whole answers', () => {
  let server: Server;
  let port: number;
  let answer: { head: ResponseHead; body: Buffer };

  beforeAll(async () => {
    server = createServer((_request, response) => void serverResponseSink(response).send!(answer.head, answer.body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** One request; the head as the client's parser saw it and the body bytes. */
  function call(method: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, method, path: '/', agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  it('sends a whole answer with its Content-Length, not chunked', async () => {
    answer = { head: { statusCode: 200, headers: { 'content-type': 'application/json' } }, body: Buffer.from('{"ok":true}') };

    const { status, headers, body } = await call('GET');

    expect(status).toBe(200);
    expect(headers['content-length']).toBe('11');
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(body.toString()).toBe('{"ok":true}');
  });

  it('sends Content-Length 0 for an empty 200', async () => {
    answer = { head: { statusCode: 200, headers: {} }, body: Buffer.alloc(0) };

    const { headers, body } = await call('GET');

    expect(headers['content-length']).toBe('0');
    expect(body.length).toBe(0);
  });

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('adds no Content-Length to %s answered %i (no content there)', async (method, statusCode) => {
    answer = { head: { statusCode, headers: { etag: '"v1"' } }, body: Buffer.alloc(0) };

    const { status, headers } = await call(method);

    expect(status).toBe(statusCode);
    expect(headers['content-length']).toBeUndefined();
    expect(headers.etag).toBe('"v1"');
  });
});
