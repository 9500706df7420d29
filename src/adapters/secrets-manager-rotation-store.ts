import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from './aws-secrets-manager';
import type { RotationSecretStore, SecretVersions, VersionStage } from '../ports/rotation-secret-store';

/** `RotationSecretStore` over the Secrets Manager API (DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage). */
export class SecretsManagerRotationStore implements RotationSecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(secretId: string): Promise<SecretVersions> {
    const result = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return { rotationEnabled: result.RotationEnabled === true, versions: result.VersionIdsToStages ?? {} };
  }

  async getValue(secretId: string, stage: VersionStage, versionId?: string): Promise<string | undefined> {
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId }));
      return result.SecretString;
    } catch (error) {
      // The pending version exists before createSecret gives it a value: reading it is "not found".
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  async putPending(secretId: string, versionId: string, value: string): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: versionId, SecretString: value, VersionStages: ['AWSPENDING'] }),
    );
  }

  async promote(secretId: string, versionId: string, fromVersionId: string | undefined): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: versionId,
        RemoveFromVersionId: fromVersionId,
      }),
    );
  }
}
