import { CodedError } from './errors';

/** Why a rotation step refused to go on. Secrets Manager then retries the step, and AWSCURRENT stays as it was. */
export type RotationErrorCode =
  /** The secret has rotation turned off: someone invoked the function by hand. */
  | 'ROTATION_DISABLED'
  /** The event's version is not a version of the secret. */
  | 'UNKNOWN_VERSION'
  /** The event's version is neither AWSPENDING nor AWSCURRENT. */
  | 'NOT_PENDING'
  /** The secret has no AWSCURRENT value (or the pending value vanished before testSecret). */
  | 'MISSING_VALUE'
  /** A document that is not a signing key set, or one whose keys do not sign and verify. */
  | 'INVALID_DOCUMENT'
  /** The pending document would break tokens or caches (see `checkContinuity`). */
  | 'CONTINUITY';

/** A rotation step failed; `message` (also its `detail`) names key ids at most, never key material. */
export class RotationError extends CodedError<RotationErrorCode> {
  constructor(code: RotationErrorCode, message: string) {
    super('RotationError', code, message, message);
  }
}
