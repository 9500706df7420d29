import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { ServiceException } from '@smithy/core/client';
import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Provider } from '@smithy/types';

/** What the SDK reports of an answer (`output.$metadata`, `error.$metadata`), with the same fields. */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  cfId?: string;
  attempts?: number;
  totalRetryDelay?: number;
}

/** An SDK service exception class (`ConditionalCheckFailedException`, …): how an error answer is thrown. */
export type ServiceExceptionCtor = new (options: { name: string; $fault: 'client' | 'server'; $metadata: ResponseMetadata; message?: string }) => Error;

/** An AWS JSON protocol: awsJson1_0 (DynamoDB) or awsJson1_1 (Secrets Manager), `X-Amz-Target: <targetPrefix><Operation>`. */
export interface AwsJsonProtocol {
  targetPrefix: string;
  contentType: 'application/x-amz-json-1.0' | 'application/x-amz-json-1.1';
}

export interface AwsJsonClientOptions {
  /** The signing name (`dynamodb`, `secretsmanager`, `lambda`). */
  service: string;
  /** Who answers, for timeout messages (`the store`, `Secrets Manager`). */
  peer: string;
  /** The service's URL (`https://dynamodb.eu-west-1.amazonaws.com`, `http://127.0.0.1:8000`), or a provider resolved once. */
  endpoint: string | (() => Promise<string>);
  region: string | Provider<string>;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Connect bound for a new connection, and the bound of one attempt from its start to the answer's last byte. */
  timeouts: { connectionTimeoutMs: number; requestTimeoutMs: number };
  /** Attempts in all, with the SDK's standard retry strategy (backoff, throttling delay, retry capacity). */
  maxAttempts: number;
  /** For `call`: the JSON protocol the service speaks. */
  protocol?: AwsJsonProtocol;
  /** The SDK's exception classes by error code; any other code gets `baseException` (@default ServiceException) with that name, as in the SDK. */
  exceptions?: ReadonlyMap<string, ServiceExceptionCtor>;
  baseException?: ServiceExceptionCtor;
  /** A budget shared beyond one call (DynamoDB's one bound per request), asked for at each call's start; none by default. */
  budget?: () => CallBudget | undefined;
}

/** What a call may still spend when calls share a bound: consulted before each attempt and each retry, told of the final failure. */
export interface CallBudget {
  /** This attempt's bounds, cut from the configured ones; throws (a `TimeoutError`) when nothing is left. */
  attemptTimeouts(configured: { connectionTimeoutMs: number; requestTimeoutMs: number }): { connectionTimeoutMs: number; requestTimeoutMs: number };
  /** Whether a retry still fits. */
  mayRetry(): boolean;
  /** The call's final failure (after its `$metadata` is set); returns the error to throw. */
  failed(failure: Error & { $metadata?: ResponseMetadata }): Error;
}

/**
 * Bounds for callers off a request's path (the rotation function) and those
 * that name none: generous, but bounded, where the SDK's default handler has
 * no request timeout at all.
 */
export const UNHURRIED_TIMEOUTS = { connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000 } as const;

/** One signed request of `AwsJsonClient.request`: a POST to `path` (below the endpoint's own path) with these headers and body. */
export interface AwsRequest {
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The answer to a successful `AwsJsonClient.request`. */
export interface AwsAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  $metadata: ResponseMetadata;
}

/**
 * A signed caller of AWS's JSON protocols that keeps only what Tollgate's
 * calls need: SigV4 from `@smithy/signature-v4`, one keep-alive connection
 * pool, the SDK's standard retry strategy, and errors shaped as the SDK
 * throws them (the SDK's classes where given, else `ServiceException` named
 * by the error code, with `$fault`, `$metadata` (`attempts` included) and the
 * answer's other members). `call` speaks awsJson1_0/1_1 (DynamoDB, Secrets
 * Manager) and takes and returns the wire form; `request` sends one
 * restJson1 POST (Lambda Invoke) and returns the raw answer.
 *
 * What it leaves out of the SDK's pipeline, and why that is safe here: the
 * user agent and invocation-id headers (informational), endpoint rules per
 * request (the endpoint is resolved once: it does not vary by request here),
 * clock-skew correction (Lambda's clock is synchronised), `Retry-After` hints.
 *
 * Bounds: a new connection must connect within `connectionTimeoutMs`, and
 * each attempt must be answered, last byte included, within
 * `requestTimeoutMs` of its start; both fail as `TimeoutError`. Connection
 * errors (`ECONNRESET`, `ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`) are named
 * `TimeoutError` as `@smithy/node-http-handler` names them, so the same ones
 * are retried.
 */
export class AwsJsonClient {
  private readonly signer: SignatureV4;
  private readonly retryStrategy: StandardRetryStrategy;
  private endpoint: URL | undefined;
  private endpointPromise: Promise<URL> | undefined;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });

  constructor(private readonly options: AwsJsonClientOptions) {
    this.signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: options.service, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
    this.retryStrategy = new StandardRetryStrategy(options.maxAttempts);
    if (typeof options.endpoint === 'string') this.endpoint = new URL(options.endpoint);
  }

  /** Sends one JSON-protocol operation (`GetItem`, `GetSecretValue`, …) with its wire-form input; resolves to its output with `$metadata`. */
  async call(operation: string, input: object): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const protocol = this.options.protocol;
    if (!protocol) throw new Error(`${this.options.service}: no JSON protocol configured`);
    const answer = await this.request({ path: '', headers: { 'content-type': protocol.contentType, 'x-amz-target': protocol.targetPrefix + operation }, body: JSON.stringify(input) });
    const text = answer.body.toString('utf8');
    let output: Record<string, unknown>;
    try {
      output = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch (error) {
      // As the SDK's JSON deserializer: the parse error, with the answer's metadata and text.
      throw Object.assign(error as Error, { $metadata: answer.$metadata, $responseBodyText: text });
    }
    return Object.assign(output, { $metadata: answer.$metadata });
  }

  /** Sends one signed POST, retried by the SDK's standard strategy; an answer of status 300 or more is thrown as the service's error. */
  async request(request: AwsRequest): Promise<AwsAnswer> {
    const endpoint = this.endpoint ?? (await this.resolveEndpoint());
    const budget = this.options.budget?.();
    let token = await this.retryStrategy.acquireInitialRetryToken('');
    let totalRetryDelay = 0;
    for (;;) {
      const attempts = token.getRetryCount() + 1;
      const timeouts = budget ? budget.attemptTimeouts(this.options.timeouts) : this.options.timeouts;
      try {
        const answer = await this.attempt(endpoint, request, timeouts);
        this.retryStrategy.recordSuccess(token);
        answer.$metadata.attempts = attempts;
        answer.$metadata.totalRetryDelay = totalRetryDelay;
        return answer;
      } catch (error) {
        const failure = error as Error & { $metadata?: ResponseMetadata };
        try {
          // Waits the backoff itself (up to 50 ms doubling, 1 s base after throttling), or refuses.
          token = await this.retryStrategy.refreshRetryTokenForRetry(token, { errorType: retryErrorType(failure) });
          totalRetryDelay += token.$retryLog?.acquisitionDelay ?? 0;
        } catch {
          failure.$metadata = { ...failure.$metadata, attempts, totalRetryDelay };
          throw budget ? budget.failed(failure) : failure;
        }
        // No retry past the shared bound: the failure as it is.
        if (budget && !budget.mayRetry()) {
          failure.$metadata = { ...failure.$metadata, attempts, totalRetryDelay };
          throw budget.failed(failure);
        }
      }
    }
  }

  /** Closes the pooled connections (as an SDK client's `destroy`). */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private resolveEndpoint(): Promise<URL> {
    const resolve = this.options.endpoint as () => Promise<string>;
    this.endpointPromise ??= resolve().then(
      (url) => (this.endpoint = new URL(url)),
      (error: unknown) => {
        this.endpointPromise = undefined;
        throw error;
      },
    );
    return this.endpointPromise;
  }

  private async attempt(endpoint: URL, request: AwsRequest, timeouts: AwsJsonClientOptions['timeouts']): Promise<AwsAnswer> {
    const port = endpoint.port ? Number(endpoint.port) : undefined;
    const path = request.path ? endpoint.pathname.replace(/\/+$/, '') + request.path : endpoint.pathname;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port,
      path,
      query: {},
      headers: { ...request.headers, host: endpoint.host, 'content-length': String(Buffer.byteLength(request.body)) },
      body: request.body,
    });
    const answer = await this.exchange(endpoint, port, path, signed.headers, request.body, timeouts);
    const $metadata: ResponseMetadata = {
      httpStatusCode: answer.status,
      requestId: header(answer.headers, 'x-amzn-requestid') ?? header(answer.headers, 'x-amz-request-id'),
      extendedRequestId: header(answer.headers, 'x-amz-id-2'),
      cfId: header(answer.headers, 'x-amz-cf-id'),
    };
    if (answer.status >= 300) throw this.serviceError(answer.status, answer.body.toString('utf8'), answer.headers, $metadata);
    return { ...answer, $metadata };
  }

  private exchange(
    endpoint: URL,
    port: number | undefined,
    path: string,
    headers: Record<string, string>,
    body: string | Buffer,
    timeouts: AwsJsonClientOptions['timeouts'],
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const tls = endpoint.protocol === 'https:';
    const { connectionTimeoutMs, requestTimeoutMs } = timeouts;
    const peer = this.options.peer;
    return new Promise((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (error: Error) => {
        clearTimeout(deadline);
        clearTimeout(connectTimer);
        request.destroy();
        reject(error);
      };
      const request: ClientRequest = (tls ? httpsRequest : httpRequest)(
        { host: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'), port, method: 'POST', path, headers, agent: tls ? this.httpsAgent : this.httpAgent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => fail(nameConnectionError(error)));
          response.on('end', () => {
            clearTimeout(deadline);
            resolve({ status: response.statusCode ?? -1, headers: response.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      const deadline = setTimeout(() => fail(timeoutError(`${peer} did not answer within ${requestTimeoutMs} ms`, 'ETIMEDOUT')), requestTimeoutMs);
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => fail(timeoutError(`no connection to ${peer} within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => fail(nameConnectionError(error)));
      request.end(body);
    });
  }

  /**
   * An error answer as the SDK throws it: its class by the error code
   * (`__type` after `#`, else `code`, else `X-Amzn-ErrorType`, else
   * `Unknown`), `$fault` by status, `$metadata`, `message`, and the body's
   * other members as they are (`Item` of a failed condition in wire form,
   * `CancellationReasons`, Lambda's `Type`).
   */
  private serviceError(status: number, text: string, headers: IncomingMessage['headers'], $metadata: ResponseMetadata): Error {
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
    } catch {
      // Not JSON (a proxy's error page): the status decides.
    }
    const code = errorCode(data, headers) ?? 'Unknown';
    const Ctor = this.options.exceptions?.get(code) ?? this.options.baseException ?? (ServiceException as unknown as ServiceExceptionCtor);
    const $fault = status < 500 ? 'client' : 'server';
    const message = String(data.message ?? data.Message ?? 'UnknownError');
    const error = new Ctor({ name: code, $fault, $metadata, message });
    const fields = error as unknown as Record<string, unknown>;
    if (fields.$response === undefined) delete fields.$response;
    for (const [key, value] of Object.entries(data)) {
      if (key === 'message' || key === 'Message' || value === undefined || value === null) continue;
      if (fields[key] === undefined || fields[key] === '') fields[key] = value;
    }
    // An own, enumerable `message`, as the SDK's errors carry it.
    Object.defineProperty(error, 'message', { value: message, enumerable: true, writable: true, configurable: true });
    return Object.assign(error, { name: code, $fault, $metadata });
  }
}

/** The SDK's retry classification (`@smithy/core/retry`'s `getRetryErrorType`). */
function retryErrorType(error: Error): 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR' {
  if (isThrottlingError(error as never)) return 'THROTTLING';
  if (isTransientError(error as never)) return 'TRANSIENT';
  if (isServerError(error as never)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

/** A failure the SDK's retry strategy and our callers count as a timeout. */
export function timeoutError(message: string, code?: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', ...(code ? { code } : {}) });
}

/** As `@smithy/node-http-handler`: connection errors it counts as timeouts are named `TimeoutError`. */
function nameConnectionError(error: Error & { code?: string }): Error {
  if (error.name === 'TimeoutError') return error;
  if (error.code === 'ECONNRESET' || error.code === 'ECONNREFUSED' || error.code === 'EPIPE' || error.code === 'ETIMEDOUT') error.name = 'TimeoutError';
  return error;
}

function header(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The JSON protocols' error code: `__type`, else `code`, else the `X-Amzn-ErrorType` header, sanitised as the SDK does. */
function errorCode(data: Record<string, unknown>, headers: IncomingMessage['headers']): string | undefined {
  const raw = data.__type ?? data.code ?? data.Code ?? header(headers, 'x-amzn-errortype');
  if (raw === undefined || raw === null) return undefined;
  let value = String(raw);
  value = value.split(',')[0]!.split(':')[0]!;
  if (value.includes('#')) value = value.split('#')[1]!;
  return value;
}
