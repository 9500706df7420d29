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
import { currentStoreCallScope, type StoreCallScope } from '../ports/store-call-scope';
import { AwsJsonClient, timeoutError, type AwsJsonClientOptions, type CallBudget, type ResponseMetadata, type ServiceExceptionCtor } from './aws-json-client';

export type { ResponseMetadata } from './aws-json-client';

export type DynamoJsonTransportOptions = Pick<AwsJsonClientOptions, 'endpoint' | 'region' | 'credentials' | 'timeouts' | 'maxAttempts'>;

/** The SDK's longest wait before a retry (after a throttling error). */
const MAX_RETRY_DELAY_MS = 1_000;

/**
 * DynamoDB over `AwsJsonClient` (awsJson1_0, `X-Amz-Target:
 * DynamoDB_20120810.<Operation>`): SigV4, the SDK's standard retry strategy,
 * errors of the SDK's own classes (`ConditionalCheckFailedException` with its
 * `Item` in wire form, `name`, `$fault`, `$metadata` with `attempts`). It
 * takes and returns DynamoDB's wire form (`{ S: '…' }`): marshalling is the
 * caller's. Bounds as `STORE_TIMEOUTS` documents them (each attempt to the
 * answer's last byte); account-ID endpoints are not used.
 *
 * **One bound per request** (`StoreCallScope`): once a call of a request has
 * failed without an answer, the request's later calls (the look after a
 * lost answer, an exchange's undo) share what is left of one call's bound,
 * `maxAttempts × (connect + request) + 1 s`, counted from that call's start:
 * their attempts are cut to it, and a call with nothing left fails at once
 * as a `TimeoutError`. Calls before any failure, and calls outside a
 * request, keep their own full bound.
 */
export class DynamoJsonTransport extends AwsJsonClient {
  constructor(options: DynamoJsonTransportOptions) {
    const { connectionTimeoutMs, requestTimeoutMs } = options.timeouts;
    const callBoundMs = options.maxAttempts * (connectionTimeoutMs + requestTimeoutMs) + MAX_RETRY_DELAY_MS;
    super({
      ...options,
      service: 'dynamodb',
      peer: 'the store',
      protocol: { targetPrefix: 'DynamoDB_20120810.', contentType: 'application/x-amz-json-1.0' },
      exceptions: EXCEPTIONS,
      baseException: DynamoDBServiceException as unknown as ServiceExceptionCtor,
      budget: () => {
        const scope = currentStoreCallScope();
        return scope ? requestBound(scope, performance.now(), callBoundMs) : undefined;
      },
    });
  }
}

/** One call's share of its request's store bound (`StoreCallScope`), the call having started at `started`. */
function requestBound(scope: StoreCallScope, started: number, callBoundMs: number): CallBudget {
  /** What is left of the request's one bound once a call of it has failed without an answer (else unbounded). */
  const left = () => (scope.failedCallStartedAt === undefined ? Infinity : scope.failedCallStartedAt + callBoundMs - performance.now());
  return {
    attemptTimeouts(configured) {
      const remaining = left();
      if (remaining === Infinity) return configured;
      if (remaining <= 0) throw timeoutError('the request spent its store time bound on an earlier call that got no answer', 'ETIMEDOUT');
      return { connectionTimeoutMs: Math.min(configured.connectionTimeoutMs, remaining), requestTimeoutMs: Math.min(configured.requestTimeoutMs, remaining) };
    },
    mayRetry: () => left() > 0,
    // A call that got no answer (no status, or a 5xx) is the request's first such failure, if none was before.
    failed(failure: Error & { $metadata?: ResponseMetadata }) {
      const status = failure.$metadata?.httpStatusCode;
      if (scope.failedCallStartedAt === undefined && (status === undefined || status >= 500)) scope.failedCallStartedAt = started;
      return failure;
    },
  };
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
