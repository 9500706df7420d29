import type { Readable } from 'node:stream';
import type { HeaderPair } from '../domain/header-rules';

export interface UpstreamRequest {
  method: string;
  url: URL;
  headers: readonly HeaderPair[];
  /** API Gateway delivers request bodies whole, so the body is a buffer (and can be sent again after a 401). */
  body: Buffer;
  /** The proxy's deadline: aborts connecting, sending and waiting for the response's headers (not the body). */
  signal: AbortSignal;
  /** A body that sends no byte for this long is cut (`timeout`); it may stream for as long as it keeps sending. */
  bodyIdleTimeoutMs: number;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case names, in the order received; repeated headers stay repeated. */
  headers: HeaderPair[];
  /**
   * The body as it arrives. It errors with an `UpstreamError` when the
   * upstream fails mid-body (`unavailable`) or goes quiet for
   * `bodyIdleTimeoutMs` (`timeout`); destroying it closes the upstream
   * connection. The caller must consume or destroy it.
   */
  body: Readable;
  /** From sending the request to the response's headers. */
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

/** Sends one request to the upstream and hands back its answer once the headers are in: the proxy service's only way out. */
export interface UpstreamTransport {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
}
