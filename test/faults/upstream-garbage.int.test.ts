import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { bearer, ciAccessToken, rawRequest, startProxyTollgate } from '../services/proxy-harness';

const TIMEOUT_MS = 500;
const UNAVAILABLE = { error: 'upstream_unavailable', error_description: 'the upstream could not be reached', code: 'UPSTREAM_UNAVAILABLE' };
const TIMEOUT = { error: 'upstream_timeout', error_description: 'the upstream did not answer in time', code: 'UPSTREAM_TIMEOUT' };
const OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';

/** What the raw upstream does with a connection once a request's head has arrived. */
type RawBehaviour = (socket: Socket) => void;

/** An upstream speaking raw TCP, so it can answer things that are not HTTP at all. */
async function startRawUpstream(): Promise<{ url: string; behave(next: RawBehaviour): void; close(): Promise<void> }> {
  let behaviour: RawBehaviour = (socket) => socket.end(OK);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) behaviour(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    behave: (next) => {
      behaviour = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * An upstream that answers garbage: whatever bytes come back that are not a
 * valid HTTP/1.1 response, the proxy answers 502 UPSTREAM_UNAVAILABLE (never
 * 500, never the bytes), and the function stays healthy: the next request
 * goes through. Timeouts and resets: `proxy-upstream-failures`.
 */
describe('proxy: an upstream answering garbage', () => {
  let issuers: TestIssuerServer;
  let upstream: Awaited<ReturnType<typeof startRawUpstream>>;
  let tollgate: LocalTollgate;
  let access: string;
  const call = () => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) });

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startRawUpstream();
    tollgate = await startProxyTollgate({
      issuers,
      proxy: { upstreamUrl: upstream.url, routes: [{ methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }], timeoutMs: TIMEOUT_MS },
      rateLimit: { requestsPerMinute: 100_000 },
    });
    access = (await ciAccessToken(tollgate, issuers)).access_token;
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  it.each<[string, RawBehaviour]>([
    ['bytes that are not HTTP', (socket) => socket.end('\x00\x01\x02 garbage \xff\xfe\r\n\r\n')],
    ['an unparseable status line', (socket) => socket.end('HTTP/1.1 OK 200\r\n\r\n')],
    ['a status outside 100–999', (socket) => socket.end('HTTP/1.1 1000 Big\r\ncontent-length: 0\r\n\r\n')],
    ['a header line without a colon', (socket) => socket.end('HTTP/1.1 200 OK\r\nthis is not a header\r\ncontent-length: 0\r\n\r\n')],
    ['a header value with a bare CR', (socket) => socket.end('HTTP/1.1 200 OK\r\nx-evil: a\rb\r\ncontent-length: 0\r\n\r\n')],
    ['two different Content-Length values', (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 5\r\n\r\nhello')],
    ['Content-Length and chunked together', (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')],
    ['a broken chunked body', (socket) => socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n')],
    ['a header block over 16 KiB', (socket) => socket.end(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(20_000)}\r\ncontent-length: 0\r\n\r\n`)],
    ['a closed connection without a byte', (socket) => socket.end()],
  ])('%s: 502 UPSTREAM_UNAVAILABLE, then the next request succeeds', async (_name, behaviour) => {
    upstream.behave(behaviour);

    const answer = await call();

    expect(answer.status).toBe(502);
    expect(answer.json).toEqual(UNAVAILABLE);
    expect(answer.headers['cache-control']).toBe('no-store');
    upstream.behave((socket) => socket.end(OK));
    const next = await call();
    expect(next.status).toBe(200);
    expect(next.json).toEqual({ ok: true });
  });

  it('survives 70 requests hanging at once (more than the agent’s 64 sockets): each 504, then the next succeeds', async () => {
    // One subject each, so 70 rate-limit counters are updated side by side rather than one item 70 times in a row.
    const tokens = [];
    for (let i = 0; i < 70; i++) tokens.push((await ciAccessToken(tollgate, issuers, { repository: `acme/app-${i}` })).access_token);
    upstream.behave(() => undefined);

    const answers = await Promise.all(tokens.map((token) => rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(token) })));

    for (const answer of answers) expect(answer.json).toEqual(TIMEOUT);
    upstream.behave((socket) => socket.end(OK));
    expect((await call()).status).toBe(200);
  });
});
