import { Writable, type Readable } from 'node:stream';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from './api-event';

/** The status line and headers of a streamed answer: what API Gateway's streaming prelude carries. */
export interface ResponseHead {
  statusCode: number;
  headers: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
}

/**
 * Where a streamed answer goes: the seam between the handlers and the
 * platform. The Lambda entry implements it over `awslambda.HttpResponseStream`
 * (`src/lambda/response-stream.ts`), the local server over node:http's
 * `ServerResponse` (`src/local/api-gateway-adapter.ts`); the handlers never
 * know which.
 *
 * `open` is called once, with the status and headers, before any body byte;
 * after it the status can no longer change. A handler whose body fails after
 * `open` rejects, and the platform ends the client's response abruptly (the
 * Lambda runtime ends the stream with an error; the local server destroys the
 * connection): a truncated body, never a second status.
 */
export interface ResponseSink {
  open(head: ResponseHead): Writable;
  /**
   * A whole answer at once, when the sink can do better than `open`, one
   * write and `end` (node:http: one write with a `Content-Length` instead of
   * chunks). Optional: without it the answer goes through `open`.
   */
  send?(head: ResponseHead, body: Buffer): Promise<void>;
}

/**
 * An `HttpResult` whose body may stream: `bodyStream`, when present, is the
 * body (and `body` is empty). Middlewares that add headers (`{ ...result }`)
 * keep it.
 */
export interface StreamedResult extends HttpResult {
  bodyStream?: Readable;
  /** The body is cut once it passes `bytes`, failing with `error()` (its head is out by then: the client sees it end early). */
  bodyLimit?: { bytes: number; error(): Error };
}

/** A handler that writes its answer to a sink (the Lambda streaming invocation's shape, sink in place of the stream). */
export type StreamingHttpFunction = (event: HttpEvent, sink: ResponseSink, context: Context) => Promise<void>;

/** Why a body stopped after its head was sent; `bytes` is how much of it the client got. */
export class BodyInterruptedError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly bytes: number,
  ) {
    super('response body interrupted', { cause });
    this.name = 'BodyInterruptedError';
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * Writes a result to a sink: the head, then the body with backpressure (the
 * sink's `drain`), so memory stays flat however large the body. A body that
 * is already whole when the head is decided (a small answer arrives with its
 * headers) goes out in one piece, as a buffered answer would. Otherwise the
 * head is followed at once by an empty write: on Lambda that sends API
 * Gateway's prelude (status and headers) before the first body byte, and a
 * body-less answer (204, 304, HEAD, a redirect) still gets its status
 * instead of a 502. A body that fails, or passes `bodyLimit`, rejects with
 * `BodyInterruptedError`; the sink is left for the platform to end abruptly.
 */
export async function writeResult(result: StreamedResult, sink: ResponseSink): Promise<void> {
  const head: ResponseHead = { statusCode: result.statusCode, headers: stringValues(result.headers) };
  if (result.multiValueHeaders && Object.keys(result.multiValueHeaders).length > 0) {
    head.multiValueHeaders = Object.fromEntries(Object.entries(result.multiValueHeaders).map(([name, values]) => [name, values.map(String)]));
  }
  const body = result.bodyStream;
  if (!body) return whole(sink, head, result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : EMPTY_BUFFER);
  const limit = result.bodyLimit?.bytes ?? Number.POSITIVE_INFINITY;
  if ((body as { complete?: boolean }).complete === true) {
    // Already whole: what is buffered is all of it (reading it to the end frees the upstream connection for reuse).
    const data = (body.read() as Buffer | null) ?? EMPTY_BUFFER;
    if (data.length <= limit) return whole(sink, head, data);
    body.destroy();
    const out = sink.open(head);
    out.write(EMPTY);
    throw new BodyInterruptedError(result.bodyLimit!.error(), 0);
  }
  const out = sink.open(head);
  out.write(EMPTY);
  let bytes = 0;
  let done = false;
  // A client that goes away while the upstream is quiet (an idle event stream) closes the upstream at once.
  const gone = () => {
    if (!done) body.destroy(new ClientGoneError());
  };
  out.once('close', gone);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (bytes + chunk.length > limit) throw result.bodyLimit!.error();
      bytes += chunk.length;
      if (!out.write(chunk)) await drained(out);
    }
  } catch (error) {
    throw new BodyInterruptedError(error, bytes);
  } finally {
    done = true;
    out.off('close', gone);
  }
  await endOf(out);
}

async function whole(sink: ResponseSink, head: ResponseHead, data: Buffer): Promise<void> {
  if (sink.send) return sink.send(head, data);
  const out = sink.open(head);
  out.write(EMPTY);
  if (data.length > 0) out.write(data);
  await endOf(out);
}

/** The client closed its connection before the body was complete. */
export class ClientGoneError extends Error {
  constructor() {
    super('client gone');
    this.name = 'ClientGoneError';
  }
}

function stringValues(headers: HttpResult['headers']): Record<string, string> {
  const values: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(headers ?? {})) values[name] = String(value);
  return values;
}

/** Waits for `drain`, or fails when the client went away meanwhile (the body's iterator is then closed, and the upstream with it). */
function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(new ClientGoneError());
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      out.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      out.off('drain', onDrain);
      reject(new ClientGoneError());
    };
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}

/** Ends the body; settles when it is sent, or when the client went away first ('finish' then never comes). */
async function endOf(out: Writable): Promise<void> {
  if (out.destroyed) return;
  await new Promise<void>((resolve) => {
    out.once('close', resolve);
    out.end(() => resolve());
  });
}

/** A sink that keeps the whole answer in memory: for callers that need it in hand (tests, the bench's in-process store-request count). */
export function bufferingSink(): { sink: ResponseSink; answer(): { head: ResponseHead; body: Buffer } } {
  let head: ResponseHead | undefined;
  const chunks: Buffer[] = [];
  return {
    sink: {
      open(opened) {
        head = opened;
        return new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(Buffer.from(chunk));
            callback();
          },
        });
      },
    },
    answer() {
      if (!head) throw new Error('the handler answered without opening the response');
      return { head, body: Buffer.concat(chunks) };
    },
  };
}
