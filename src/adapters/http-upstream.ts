import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { HeaderPair } from '../domain/header-rules';

import { UpstreamError, type UpstreamFailure, type UpstreamRequest, type UpstreamResponse, type UpstreamTransport } from '../ports/upstream';

// Kept for callers that import the transport's types from here; the port owns them.
export { UpstreamError, type UpstreamFailure, type UpstreamRequest, type UpstreamResponse, type UpstreamTransport } from '../ports/upstream';

/** Methods RFC 9110 §9.2.2 calls idempotent: safe to resend after a connection died unanswered. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Methods whose requests carry no body unless they were given one (no `Content-Length: 0` then). */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** What Node accepts in a header value (RFC 9110 §5.5 field-value: VCHAR, obs-text, SP, HTAB). */
const SENDABLE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The upstream over `node:http`/`node:https` with keep-alive agents built
 * once per process (Lambda reuses them across invocations). Chosen over
 * `fetch` because it never follows redirects, never decompresses (a gzip body
 * passes through byte for byte with its `Content-Encoding`), keeps repeated
 * response headers apart, and sets `Host` from the URL alone.
 *
 * The answer is handed back when its headers arrive, with the body still
 * streaming (`UpstreamResponse.body`): the deadline covers everything up to
 * the headers, the body has an idle timeout instead, so a server-sent event
 * stream may run for as long as it keeps sending.
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
      const hasBody = request.body.length > 0 || !BODYLESS.has(request.method.toUpperCase());
      if (hasBody) headers['content-length'] = [String(request.body.length)];
      const secure = request.url.protocol === 'https:';
      const outgoing = (secure ? https : http).request({
        // The URL's parts as options: node:http would otherwise convert the URL object on every request.
        protocol: request.url.protocol,
        hostname: request.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: request.url.port || undefined,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      // The deadline covers connecting, sending and the response's headers; a streamed body has its idle timeout instead.
      let deadlinePassed = false;
      const onDeadline = () => {
        deadlinePassed = true;
        outgoing.destroy();
      };
      request.signal.addEventListener('abort', onDeadline, { once: true });
      let answer: http.IncomingMessage | undefined;
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        request.signal.removeEventListener('abort', onDeadline);
        // After the headers, the body reports it (a parse error in the very segment that carried the headers included).
        if (answer) return void answer.destroy(failure('unavailable', `body: ${error.code ?? error.name}`));
        if (deadlinePassed || request.signal.aborted) return reject(failure('timeout', 'no answer within the deadline'));
        const code = error.code ?? error.name;
        if (!isRetry && outgoing.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          return reject(new StaleConnectionError(`${code} on a reused connection`));
        }
        reject(failure('unavailable', code));
      });
      outgoing.on('response', (response) => {
        answer = response;
        request.signal.removeEventListener('abort', onDeadline);
        const pairs: HeaderPair[] = [];
        for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) pairs.push([response.rawHeaders[i]!.toLowerCase(), response.rawHeaders[i + 1]!]);
        response.setTimeout(request.bodyIdleTimeoutMs, () => response.destroy(failure('timeout', `no body byte for ${request.bodyIdleTimeoutMs} ms`)));
        // A connection closed mid-body surfaces as Node's own "aborted" error; name it ours, so the log says what happened.
        response.once('aborted', () => response.destroy(failure('unavailable', 'body interrupted: connection closed')));
        resolve({ status: response.statusCode ?? 502, headers: pairs, body: response, latencyMs: elapsed() });
      });
      outgoing.end(hasBody ? request.body : undefined);
    });
  }
}

class StaleConnectionError extends Error {}
