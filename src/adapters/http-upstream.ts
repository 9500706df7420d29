import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { HeaderPair } from '../domain/header-rules';

export interface UpstreamRequest {
  method: string;
  url: URL;
  headers: readonly HeaderPair[];
  body: Buffer;
  /** Aborts the whole exchange (connect, send, headers, body): the proxy's deadline. */
  signal: AbortSignal;
  /** Reading stops, and the exchange fails `too_large`, past this many body bytes. */
  maxResponseBytes: number;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case names, in the order received; repeated headers stay repeated. */
  headers: HeaderPair[];
  body: Buffer;
  /** From sending the request to the last body byte. */
  latencyMs: number;
}

export type UpstreamFailure = 'timeout' | 'unavailable' | 'too_large';

/** Why an upstream exchange failed; `detail` is for the log (an error code, never a header value). */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    readonly detail: string,
    readonly latencyMs: number,
  ) {
    super(`upstream ${kind}: ${detail}`);
    this.name = 'UpstreamError';
  }
}

/** Sends one request to the upstream; the proxy service's only way out. */
export interface UpstreamTransport {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
}

/** Methods RFC 9110 §9.2.2 calls idempotent: safe to resend after a connection died unanswered. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** What Node accepts in a header value (RFC 9110 §5.5 field-value: VCHAR, obs-text, SP, HTAB). */
const SENDABLE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The upstream over `node:http`/`node:https` with keep-alive agents built
 * once per process (Lambda reuses them across invocations). Chosen over
 * `fetch` because it never follows redirects, never decompresses (a gzip body
 * passes through byte for byte with its `Content-Encoding`), keeps repeated
 * response headers apart, and sets `Host` from the URL alone.
 *
 * One transparent retry: when a request on a *reused* keep-alive connection
 * fails with a reset before any response (the upstream closed the idle
 * connection as we reused it, or Lambda thawed a dead one) and the method is
 * idempotent, it is sent once more on a fresh connection.
 */
export class HttpUpstream implements UpstreamTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const started = performance.now();
    try {
      return await this.attempt(request, started);
    } catch (error) {
      if (error instanceof StaleConnectionError && IDEMPOTENT.has(request.method.toUpperCase())) {
        return this.attempt(request, started, true);
      }
      if (error instanceof StaleConnectionError) throw new UpstreamError('unavailable', error.message, performance.now() - started);
      throw error;
    }
  }

  /** Closes idle connections (tests and the local server's shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private attempt(request: UpstreamRequest, started: number, isRetry = false): Promise<UpstreamResponse> {
    const elapsed = () => performance.now() - started;
    const failure = (kind: UpstreamFailure, detail: string) => new UpstreamError(kind, detail, elapsed());
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (request.signal.aborted) return reject(failure('timeout', 'deadline passed before sending'));
      // Names are data: a client header named `constructor` or `__proto__` is an ordinary key here.
      const headers: Record<string, string[]> = Object.create(null);
      for (const [name, value] of request.headers) {
        if (SENDABLE_VALUE.test(value)) (headers[name] ??= []).push(value);
      }
      const hasBody = request.body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(request.method.toUpperCase());
      if (hasBody) headers['content-length'] = [String(request.body.length)];
      const secure = request.url.protocol === 'https:';
      const outgoing = (secure ? https : http).request(request.url, {
        method: request.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        signal: request.signal,
      });
      let responded = false;
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        if (request.signal.aborted) return reject(failure('timeout', 'no answer within the deadline'));
        const code = error.code ?? error.name;
        if (!responded && !isRetry && outgoing.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          return reject(new StaleConnectionError(`${code} on a reused connection`));
        }
        reject(failure('unavailable', code));
      });
      outgoing.on('response', (response) => {
        responded = true;
        const pairs: HeaderPair[] = [];
        for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) pairs.push([response.rawHeaders[i]!.toLowerCase(), response.rawHeaders[i + 1]!]);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxResponseBytes) {
            response.destroy();
            outgoing.destroy();
            reject(failure('too_large', `more than ${request.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (size > request.maxResponseBytes) return;
          resolve({ status: response.statusCode ?? 502, headers: pairs, body: Buffer.concat(chunks), latencyMs: elapsed() });
        });
        const interrupted = (reason: string) => {
          if (size > request.maxResponseBytes) return;
          if (request.signal.aborted) reject(failure('timeout', 'body not complete within the deadline'));
          else reject(failure('unavailable', `body interrupted: ${reason}`));
        };
        response.on('error', (error: NodeJS.ErrnoException) => interrupted(error.code ?? error.name));
        // A connection closed mid-body does not always surface as an error; a settled promise ignores this.
        response.on('close', () => {
          if (!response.complete) interrupted('connection closed');
        });
      });
      outgoing.end(hasBody ? request.body : undefined);
    });
  }
}

class StaleConnectionError extends Error {}
