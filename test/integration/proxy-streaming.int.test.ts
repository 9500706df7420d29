import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { createStreamingProxyHandler } from '../../src/handlers/proxy-handler';
import type { HttpEvent } from '../../src/http/api-event';
import { streamingLambda } from '../../src/lambda/response-stream';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { apiGatewayEvent } from '../support/api-gateway-event';
import {
  bearer,
  ciAccessToken,
  rawRequest,
  recordingObservability,
  startProxyTollgate,
  startTestUpstream,
  streamedRequest,
  type TestUpstream,
} from '../services/proxy-harness';

const ROUTES = [{ name: 'orders', methods: ['GET', 'HEAD', 'POST'] as ('GET' | 'HEAD' | 'POST')[], path: '/orders/**', scopes: ['orders:read'] }];

/**
 * Streamed answers through the real local server (the same handler code the
 * Lambda entry streams with) from a real loopback upstream: big bodies,
 * server-sent events at their own pace, body-less answers, a reset mid-body;
 * and the Lambda side's prelude, through a runtime stand-in that frames it as
 * API Gateway reads it.
 */
describe('proxy: streamed responses', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  let access: string;
  const observability = recordingObservability();
  const get = (path: string, method = 'GET') => streamedRequest(tollgate.baseUrl, { method, path, headers: bearer(access) });

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({ issuers, observability, proxy: { upstreamUrl: upstream.url, routes: ROUTES } });
    access = (await ciAccessToken(tollgate, issuers)).access_token;
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  it('streams a 50 MB body byte for byte, without a length limit of Lambda’s buffered answers', async () => {
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff;
    const expected = createHash('sha256');
    for (let i = 0; i < 50; i++) expected.update(block);
    upstream.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = () => {
        while (sent < 50) {
          sent += 1;
          if (!response.write(block)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
    const answer = await get('/proxy/orders/export');
    expect(answer).toMatchObject({ status: 200, ending: 'complete' });
    expect(answer.body.length).toBe(50 * 1024 * 1024);
    expect(createHash('sha256').update(answer.body).digest('hex')).toBe(expected.digest('hex'));
    // Arrived in many pieces as it streamed, not as one buffered block.
    expect(answer.chunks.length).toBeGreaterThan(20);
  }, 30_000);

  it('passes server-sent events on as the upstream sends them, one every 200 ms', async () => {
    upstream.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        response.write(`id: ${sent}\ndata: event ${sent}\n\n`);
        if (sent === 5) {
          clearInterval(timer);
          response.end();
        }
      }, 200);
    });
    const answer = await get('/proxy/orders/events');
    expect(answer).toMatchObject({ status: 200, ending: 'complete' });
    expect(answer.headers['content-type']).toBe('text/event-stream');
    expect(answer.body.toString()).toBe([1, 2, 3, 4, 5].map((n) => `id: ${n}\ndata: event ${n}\n\n`).join(''));
    // The head before the first event, and each event on its own about 200 ms after the one before (not all at the end).
    const events = answer.chunks.filter((chunk) => chunk.data.includes('data: '));
    expect(events.length).toBe(5);
    expect(answer.headAtMs).toBeLessThan(events[0]!.atMs);
    for (let i = 1; i < events.length; i++) {
      const gap = events[i]!.atMs - events[i - 1]!.atMs;
      expect(gap).toBeGreaterThan(100);
      expect(gap).toBeLessThan(600);
    }
  }, 15_000);

  it.each([
    ['204 No Content', 204, {}],
    ['304 Not Modified', 304, { etag: '"v1"' }],
    ['a redirect', 302, { location: 'https://orders.example.com/elsewhere' }],
  ])('keeps the status and headers of a body-less answer: %s', async (_name, status, headers) => {
    upstream.behave((_request, response) => response.writeHead(status, { 'x-upstream': 'yes', ...headers }).end());
    const answer = await get('/proxy/orders/1');
    expect(answer).toMatchObject({ status, ending: 'complete' });
    expect(answer.body.length).toBe(0);
    expect(answer.headers['x-upstream']).toBe('yes');
    for (const [name, value] of Object.entries(headers)) expect(answer.headers[name]).toBe(value);
  });

  it('answers HEAD with the upstream’s status and headers and no body', async () => {
    upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'head' }).end());
    const answer = await get('/proxy/orders/1', 'HEAD');
    expect(answer).toMatchObject({ status: 200, ending: 'complete' });
    expect(answer.headers['x-upstream']).toBe('head');
    expect(answer.body.length).toBe(0);
    expect(upstream.received.at(-1)!.method).toBe('HEAD');
  });

  it('cuts the client’s answer when the upstream resets mid-body, logs it and counts it', async () => {
    upstream.behave((_request, response, socket) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write(Buffer.alloc(64 * 1024, 1), () => setTimeout(() => socket.resetAndDestroy(), 50));
    });
    const answer = await get('/proxy/orders/big');
    expect(answer).toMatchObject({ status: 200, ending: 'cut' });
    expect(answer.body.length).toBe(64 * 1024);
    const logged = observability.logger.lines.filter((line) => line.message === 'proxy response interrupted').at(-1);
    expect(logged).toMatchObject({ level: 'WARN', fields: { route: 'orders', reason: 'upstream_failed', status: 200, bytes: 64 * 1024 } });
    expect(JSON.stringify(logged)).not.toContain(access);
    // The server goes on serving.
    upstream.behave((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    expect((await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: bearer(access) })).json).toEqual({ ok: true });
  });

  it('closes the upstream when the client goes away mid-stream, and counts it as the client’s doing', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    upstream.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      response.on('close', () => upstreamClosed());
    });
    const { request } = await import('node:http');
    const url = new URL(tollgate.baseUrl);
    await new Promise<void>((resolve) => {
      const outgoing = request({ host: url.hostname, port: url.port, path: '/proxy/orders/events', headers: bearer(access), agent: false }, (response) => {
        response.once('data', () => {
          outgoing.destroy();
          resolve();
        });
      });
      outgoing.on('error', () => undefined);
      outgoing.end();
    });
    await closed;
    // Counted as such, and not as a failure of the upstream.
    const deadline = Date.now() + 2_000;
    const goneLine = () => observability.logger.lines.find((line) => line.message === 'proxy response interrupted' && line.fields.reason === 'client_gone');
    while (!goneLine() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(goneLine()).toMatchObject({ fields: { route: 'orders', status: 200 } });
  });

  it('gives the Lambda runtime the API Gateway prelude (JSON + 8 NUL bytes) before the body, also for a body-less answer', async () => {
    const handler = withLambdaRuntime(() => streamingLambda(createStreamingProxyHandler(tollgate.services, recordingObservability())));
    for (const [status, body] of [
      [200, '{"ok":true}'],
      [204, ''],
    ] as const) {
      upstream.behave((_request, response) => response.writeHead(status, { 'content-type': 'application/json', 'x-many': ['a', 'b'] }).end(body));
      const framed = await invokeStreaming(handler, apiGatewayEvent({ method: 'GET', resource: '/proxy/{proxy+}', path: '/proxy/orders/1', pathParameters: { proxy: 'orders/1' }, headers: bearer(access) }));
      expect(framed.contentType).toBe('application/vnd.awslambda.http-integration-response');
      const delimiter = framed.bytes.indexOf(Buffer.alloc(8));
      expect(delimiter).toBeGreaterThan(0);
      const prelude = JSON.parse(framed.bytes.subarray(0, delimiter).toString('utf8'));
      expect(prelude).toMatchObject({ statusCode: status, headers: { 'content-type': 'application/json' }, multiValueHeaders: { 'x-many': ['a', 'b'] } });
      expect(framed.bytes.subarray(delimiter + 8).toString('utf8')).toBe(body);
    }
  });
});

/**
 * The Node.js managed runtime's streaming, as far as API Gateway can tell:
 * `streamifyResponse` marks the handler as taking a writable response stream,
 * `HttpResponseStream.from` sets the integration-response content type and
 * writes the JSON prelude and 8 NUL bytes on the first write (no write, no
 * prelude: the "body-less answer becomes a 502" pitfall).
 */
function withLambdaRuntime<T>(build: () => T): T {
  const global = globalThis as unknown as { awslambda?: unknown };
  global.awslambda = {
    streamifyResponse: (handler: unknown) => handler,
    HttpResponseStream: {
      from(stream: Writable & { contentType?: string }, prelude: unknown) {
        stream.contentType = 'application/vnd.awslambda.http-integration-response';
        const write = stream.write.bind(stream) as (chunk: unknown) => boolean;
        let first = true;
        stream.write = ((chunk: unknown) => {
          if (first) {
            first = false;
            write(JSON.stringify(prelude));
            write(new Uint8Array(8));
          }
          return write(chunk);
        }) as Writable['write'];
        return stream;
      },
    },
  };
  try {
    return build();
  } finally {
    delete global.awslambda;
  }
}

async function invokeStreaming(handler: unknown, event: HttpEvent): Promise<{ contentType?: string; bytes: Buffer }> {
  const chunks: Buffer[] = [];
  const stream: Writable & { contentType?: string } = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  await (handler as (event: HttpEvent, stream: Writable, context: Context) => Promise<void>)(event, stream, {} as Context);
  if (!stream.writableFinished) await new Promise((resolve) => stream.once('finish', resolve));
  return { contentType: stream.contentType, bytes: Buffer.concat(chunks) };
}
