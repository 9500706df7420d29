import { UnavailableError } from '../domain/errors';

/** True for DynamoDB's "your condition did not hold" answer, including inside a cancelled transaction. */
export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'ConditionalCheckFailedException';
}

/**
 * Maps a store failure to `UnavailableError('store')` (network, timeout,
 * throttling, service errors, missing table) so callers answer 503 with
 * Retry-After. Validation errors are programmer errors and stay as they are.
 */
export function toStoreError(error: unknown): unknown {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'ValidationException' || name === 'SerializationException') return error;
  return new UnavailableError('store', error, 1);
}
