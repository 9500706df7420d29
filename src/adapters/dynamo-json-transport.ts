import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  InvalidEndpointException,
  ItemCollectionSizeLimitExceededException,
  ProvisionedThroughputExceededException,
  ReplicatedWriteConflictException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { Sha256 } from '@smithy/core/checksum';
import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Provider } from '@smithy/types';
import { currentStoreCallScope, type StoreCallScope } from '../ports/store-call-scope';

/** What the SDK reports of an answer (`output.$metadata`, `error.$metadata`), with the same fields. */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  cfId?: string;
  attempts?: number;
  totalRetryDelay?: number;
}

export interface DynamoJsonTransportOptions {
  /** The store's URL (`https://dynamodb.eu-west-1.amazonaws.com`, `http://127.0.0.1:8000`), or a provider resolved once. */
  endpoint: string | (() => Promise<string>);
  region: string | Provider<string>;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Connect bound for a new connection, and the bound of one attempt from its start to the answer's last byte. */
  timeouts: { connectionTimeoutMs: number; requestTimeoutMs: number };
  /** Attempts in all, with the SDK's standard retry strategy (backoff, throttling delay, retry capacity). */
  maxAttempts: number;
}

/** The SDK's longest wait before a retry (after a throttling error). */
const MAX_RETRY_DELAY_MS = 1_000;

/** DynamoDB's JSON protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`, `application/x-amz-json-1.0`). */
const TARGET_PREFIX = 'DynamoDB_20120810.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';

type ServiceExceptionCtor = new (options: { name: string; $fault: 'client' | 'server'; $metadata: ResponseMetadata; message?: string }) => Error;

/**
 * A DynamoDB client for the JSON protocol that keeps only what a store call
 * needs: SigV4 from `@smithy/signature-v4`, one keep-alive connection pool,
 * the SDK's standard retry strategy, and errors of the SDK's own classes
 * (`ConditionalCheckFailedException` with its `Item` in wire form, `name`,
 * `$fault`, `$metadata` with `attempts`). It takes and returns DynamoDB's wire
 * form (`{ S: '…' }`): marshalling is the caller's.
 *
 * What it leaves out of the SDK's pipeline, and why that is safe here: the
 * user agent and invocation-id headers (informational), endpoint rules per
 * request (the endpoint is resolved once: a store's endpoint does not vary by
 * request; account-ID endpoints are not used), clock-skew correction (Lambda's
 * clock is synchronised), `Retry-After` hints (DynamoDB sends none).
 *
 * Bounds, as `STORE_TIMEOUTS` documents them: a new connection must connect
 * within `connectionTimeoutMs`, and each attempt must be answered, last byte
 * included, within `requestTimeoutMs` of its start (the SDK's handler bounds
 * the attempt to the answer's headers only); both fail as `TimeoutError`.
 * Connection errors (`ECONNRESET`, `ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`) are
 * named `TimeoutError` as the SDK names them, so the same ones are retried.
 *
 * **One bound per request** (`StoreCallScope`): once a call of a request has
 * failed without an answer, the request's later calls (the look after a
 * lost answer, an exchange's undo) share what is left of one call's bound,
 * `maxAttempts × (connect + request) + 1 s`, counted from that call's start:
 * their attempts are cut to it, and a call with nothing left fails at once
 * as a `TimeoutError`. Calls before any failure, and calls outside a
 * request, keep their own full bound.
 */
export class DynamoJsonTransport {
  private readonly signer: SignatureV4;
  private readonly retryStrategy: StandardRetryStrategy;
  private endpoint: URL | undefined;
  private endpointPromise: Promise<URL> | undefined;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });

  constructor(private readonly options: DynamoJsonTransportOptions) {
    this.signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: 'dynamodb', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
    this.retryStrategy = new StandardRetryStrategy(options.maxAttempts);
    if (typeof options.endpoint === 'string') this.endpoint = new URL(options.endpoint);
  }

  /** Sends one operation (`GetItem`, `UpdateItem`, …) with its wire-form input; resolves to its wire-form output with `$metadata`. */
  async call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const endpoint = this.endpoint ?? (await this.resolveEndpoint());
    const body = JSON.stringify(input);
    const scope = currentStoreCallScope();
    const started = performance.now();
    let token = await this.retryStrategy.acquireInitialRetryToken('');
    let totalRetryDelay = 0;
    for (;;) {
      const attempts = token.getRetryCount() + 1;
      const timeouts = this.attemptTimeouts(scope);
      try {
        const output = await this.attempt(endpoint, operation, body, timeouts);
        this.retryStrategy.recordSuccess(token);
        output.$metadata.attempts = attempts;
        output.$metadata.totalRetryDelay = totalRetryDelay;
        return output;
      } catch (error) {
        const failure = error as Error & { $metadata?: ResponseMetadata };
        try {
          // Waits the backoff itself (up to 50 ms doubling, 1 s base after throttling), or refuses.
          token = await this.retryStrategy.refreshRetryTokenForRetry(token, { errorType: retryErrorType(failure) });
          totalRetryDelay += token.$retryLog?.acquisitionDelay ?? 0;
        } catch {
          failure.$metadata = { ...failure.$metadata, attempts, totalRetryDelay };
          throw this.failed(scope, started, failure);
        }
        // No retry past the request's bound: the failure as it is.
        if (scope && this.leftOf(scope) <= 0) {
          failure.$metadata = { ...failure.$metadata, attempts, totalRetryDelay };
          throw this.failed(scope, started, failure);
        }
      }
    }
  }

  /** The most one call may take: every attempt's connect and request bounds, and the SDK's longest backoff. */
  private get callBoundMs(): number {
    const { connectionTimeoutMs, requestTimeoutMs } = this.options.timeouts;
    return this.options.maxAttempts * (connectionTimeoutMs + requestTimeoutMs) + MAX_RETRY_DELAY_MS;
  }

  /** What is left of the request's one bound once a call of it has failed without an answer (else unbounded). */
  private leftOf(scope: StoreCallScope): number {
    return scope.failedCallStartedAt === undefined ? Infinity : scope.failedCallStartedAt + this.callBoundMs - performance.now();
  }

  /** This attempt's bounds: the configured ones, cut to what is left of the request's bound. */
  private attemptTimeouts(scope: StoreCallScope | undefined): { connectionTimeoutMs: number; requestTimeoutMs: number } {
    const left = scope ? this.leftOf(scope) : Infinity;
    if (left === Infinity) return this.options.timeouts;
    if (left <= 0) throw timeoutError('the request spent its store time bound on an earlier call that got no answer', 'ETIMEDOUT');
    const { connectionTimeoutMs, requestTimeoutMs } = this.options.timeouts;
    return { connectionTimeoutMs: Math.min(connectionTimeoutMs, left), requestTimeoutMs: Math.min(requestTimeoutMs, left) };
  }

  /** Records a call that got no answer (no status, or a 5xx) as the request's first such failure; returns the error. */
  private failed(scope: StoreCallScope | undefined, started: number, failure: Error & { $metadata?: ResponseMetadata }): Error {
    const status = failure.$metadata?.httpStatusCode;
    if (scope && scope.failedCallStartedAt === undefined && (status === undefined || status >= 500)) scope.failedCallStartedAt = started;
    return failure;
  }

  /** Closes the pooled connections (as the SDK client's `destroy`). */
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

  private async attempt(endpoint: URL, operation: string, body: string, timeouts: DynamoJsonTransportOptions['timeouts']): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const port = endpoint.port ? Number(endpoint.port) : undefined;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port,
      path: endpoint.pathname,
      query: {},
      headers: { host: endpoint.host, 'content-type': CONTENT_TYPE, 'x-amz-target': TARGET_PREFIX + operation, 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    const answer = await this.exchange(endpoint, port, signed.headers, body, timeouts);
    const $metadata: ResponseMetadata = {
      httpStatusCode: answer.status,
      requestId: header(answer.headers, 'x-amzn-requestid') ?? header(answer.headers, 'x-amz-request-id'),
      extendedRequestId: header(answer.headers, 'x-amz-id-2'),
      cfId: header(answer.headers, 'x-amz-cf-id'),
    };
    if (answer.status >= 300) throw serviceError(answer.status, answer.text, answer.headers, $metadata);
    let output: Record<string, unknown>;
    try {
      output = answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
    } catch (error) {
      // As the SDK's JSON deserializer: the parse error, with the answer's metadata and text.
      throw Object.assign(error as Error, { $metadata, $responseBodyText: answer.text });
    }
    return Object.assign(output, { $metadata });
  }

  private exchange(
    endpoint: URL,
    port: number | undefined,
    headers: Record<string, string>,
    body: string,
    timeouts: DynamoJsonTransportOptions['timeouts'],
  ): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
    const tls = endpoint.protocol === 'https:';
    const { connectionTimeoutMs, requestTimeoutMs } = timeouts;
    return new Promise((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (error: Error) => {
        clearTimeout(deadline);
        clearTimeout(connectTimer);
        request.destroy();
        reject(error);
      };
      const request: ClientRequest = (tls ? httpsRequest : httpRequest)(
        { host: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'), port, method: 'POST', path: endpoint.pathname, headers, agent: tls ? this.httpsAgent : this.httpAgent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => fail(nameConnectionError(error)));
          response.on('end', () => {
            clearTimeout(deadline);
            resolve({ status: response.statusCode ?? -1, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      const deadline = setTimeout(
        () => fail(timeoutError(`the store did not answer within ${requestTimeoutMs} ms`, 'ETIMEDOUT')),
        requestTimeoutMs,
      );
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => fail(timeoutError(`no connection to the store within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => fail(nameConnectionError(error)));
      request.end(body);
    });
  }
}

/** The SDK's retry classification (`@smithy/core/retry`'s `getRetryErrorType`). */
function retryErrorType(error: Error): 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR' {
  if (isThrottlingError(error as never)) return 'THROTTLING';
  if (isTransientError(error as never)) return 'TRANSIENT';
  if (isServerError(error as never)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

function timeoutError(message: string, code?: string): Error {
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

/**
 * The SDK's exception classes of the operations this transport sends (GetItem,
 * PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem), by name; any
 * other code gets the base class with that name, as in the SDK. Named one by
 * one: a namespace import would bundle every command of the client.
 */
const EXCEPTIONS = new Map(
  Object.entries({
    ConditionalCheckFailedException,
    InternalServerError,
    InvalidEndpointException,
    ItemCollectionSizeLimitExceededException,
    ProvisionedThroughputExceededException,
    ReplicatedWriteConflictException,
    RequestLimitExceeded,
    ResourceNotFoundException,
    ThrottlingException,
    TransactionConflictException,
  }) as [string, unknown][] as [string, ServiceExceptionCtor][],
);

/**
 * A DynamoDB error answer as the SDK throws it: its class by the error code
 * (`__type` after `#`, else `X-Amzn-ErrorType`, else `Unknown`), `$fault` by
 * status, `$metadata`, `message`, and the body's other members as they are
 * (`Item` of a failed condition in wire form, `CancellationReasons`).
 */
function serviceError(status: number, text: string, headers: IncomingMessage['headers'], $metadata: ResponseMetadata): Error {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status decides.
  }
  const code = errorCode(data, headers) ?? 'Unknown';
  const Ctor = EXCEPTIONS.get(code) ?? (DynamoDBServiceException as unknown as ServiceExceptionCtor);
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

/** The JSON protocol's error code: `__type`, else `code`, else the `X-Amzn-ErrorType` header, sanitised as the SDK does. */
function errorCode(data: Record<string, unknown>, headers: IncomingMessage['headers']): string | undefined {
  const raw = data.__type ?? data.code ?? data.Code ?? header(headers, 'x-amzn-errortype');
  if (raw === undefined || raw === null) return undefined;
  let value = String(raw);
  value = value.split(',')[0]!.split(':')[0]!;
  if (value.includes('#')) value = value.split('#')[1]!;
  return value;
}
