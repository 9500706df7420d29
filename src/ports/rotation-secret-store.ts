/** The Secrets Manager staging labels rotation moves (AWSPREVIOUS is Secrets Manager's own bookkeeping). */
export type VersionStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS' | (string & {});

export interface SecretVersions {
  rotationEnabled: boolean;
  /** Version id → its staging labels. */
  versions: Record<string, VersionStage[]>;
}

/** What the rotation steps need from the secret store; the adapter speaks the Secrets Manager API. */
export interface RotationSecretStore {
  describe(secretId: string): Promise<SecretVersions>;
  /** The value of the version with `stage` (and `versionId`, if given); undefined when there is none. */
  getValue(secretId: string, stage: VersionStage, versionId?: string): Promise<string | undefined>;
  /** Stores `value` as version `versionId` labelled AWSPENDING. */
  putPending(secretId: string, versionId: string, value: string): Promise<void>;
  /** Moves AWSCURRENT to `versionId` from `fromVersionId`. */
  promote(secretId: string, versionId: string, fromVersionId: string | undefined): Promise<void>;
}
