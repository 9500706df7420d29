import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RotationSecretStore, SecretVersions, VersionStage } from '../ports/rotation-secret-store';

/**
 * The local signing key file (`npm start`'s `.tollgate/signing-keys.json`)
 * seen as a rotating secret, so `tollgate keys rotate` runs the very steps the
 * deployed rotation function runs (`SigningKeyRotation`: create, test,
 * finish). The file is AWSCURRENT; one rotation's AWSPENDING value is held in
 * memory until `promote` replaces the file atomically (mode 0600). Only the
 * version `begin` named can be pending.
 */
export class FileRotationStore implements RotationSecretStore {
  private readonly currentVersion = 'file';
  private pending?: { versionId: string; value?: string };

  constructor(private readonly path: string) {}

  /** Starts a rotation: `versionId` becomes the AWSPENDING version (no value until createSecret stores one). */
  begin(versionId: string): void {
    this.pending = { versionId };
  }

  async describe(_secretId: string): Promise<SecretVersions> {
    const versions: Record<string, VersionStage[]> = { [this.currentVersion]: ['AWSCURRENT'] };
    if (this.pending) versions[this.pending.versionId] = ['AWSPENDING'];
    return { rotationEnabled: true, versions };
  }

  async getValue(_secretId: string, stage: VersionStage, versionId?: string): Promise<string | undefined> {
    if (stage === 'AWSCURRENT' && (versionId === undefined || versionId === this.currentVersion)) return readFile(this.path, 'utf8');
    if (stage === 'AWSPENDING' && this.pending && (versionId === undefined || versionId === this.pending.versionId)) return this.pending.value;
    return undefined;
  }

  async putPending(_secretId: string, versionId: string, value: string): Promise<void> {
    if (this.pending?.versionId !== versionId) throw new Error(`version ${versionId} is not pending`);
    this.pending.value = value;
  }

  async promote(_secretId: string, versionId: string): Promise<void> {
    if (this.pending?.versionId !== versionId || this.pending.value === undefined) throw new Error(`version ${versionId} has no pending value`);
    const temporary = join(dirname(this.path), `.signing-keys.${process.pid}.${Date.now()}.tmp`);
    await writeFile(temporary, this.pending.value, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path);
    this.pending = undefined;
  }
}
