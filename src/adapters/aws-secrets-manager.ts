import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AwsJsonClient, UNHURRIED_TIMEOUTS, type ResponseMetadata } from './aws-json-client';
import { awsServiceEndpoint } from './aws-endpoint';

/*
 * The Secrets Manager operations Tollgate's Lambda functions call, as
 * `@aws-sdk/client-secrets-manager` names and shapes them (a command holds
 * its `input`; `send` resolves to the output with `$metadata`; errors carry
 * the SDK's names: `ResourceNotFoundException`, …), sent by `AwsJsonClient`
 * (awsJson1_1) instead of the SDK client, which put ~170 KB of runtime into
 * every bundle. The admin CLI keeps the SDK client (it is not bundled).
 */

/** A command of this module: its operation and input, as the SDK's commands carry it. */
export abstract class SecretsManagerCommand<Input extends object, Output extends object> {
  /** Only there to carry the output type. */
  declare readonly output?: Output;
  abstract readonly operation: string;
  constructor(readonly input: Input) {}
}

export interface GetSecretValueInput {
  SecretId: string;
  VersionId?: string;
  VersionStage?: string;
}
export interface GetSecretValueOutput {
  ARN?: string;
  Name?: string;
  VersionId?: string;
  SecretString?: string;
  /** Base64 on the wire; Tollgate reads string secrets only, so it is left as sent. */
  SecretBinary?: string;
  VersionStages?: string[];
  CreatedDate?: number;
}
export class GetSecretValueCommand extends SecretsManagerCommand<GetSecretValueInput, GetSecretValueOutput> {
  readonly operation = 'GetSecretValue';
}

export interface DescribeSecretInput {
  SecretId: string;
}
export interface DescribeSecretOutput {
  ARN?: string;
  Name?: string;
  RotationEnabled?: boolean;
  VersionIdsToStages?: Record<string, string[]>;
}
export class DescribeSecretCommand extends SecretsManagerCommand<DescribeSecretInput, DescribeSecretOutput> {
  readonly operation = 'DescribeSecret';
}

export interface PutSecretValueInput {
  SecretId: string;
  ClientRequestToken?: string;
  SecretString?: string;
  VersionStages?: string[];
}
export interface PutSecretValueOutput {
  ARN?: string;
  Name?: string;
  VersionId?: string;
  VersionStages?: string[];
}
export class PutSecretValueCommand extends SecretsManagerCommand<PutSecretValueInput, PutSecretValueOutput> {
  readonly operation = 'PutSecretValue';
}

export interface UpdateSecretVersionStageInput {
  SecretId: string;
  VersionStage: string;
  MoveToVersionId?: string;
  RemoveFromVersionId?: string;
}
export interface UpdateSecretVersionStageOutput {
  ARN?: string;
  Name?: string;
}
export class UpdateSecretVersionStageCommand extends SecretsManagerCommand<UpdateSecretVersionStageInput, UpdateSecretVersionStageOutput> {
  readonly operation = 'UpdateSecretVersionStage';
}

export interface SecretsManagerClientConfig {
  /** @default `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL`, else the region's (`awsServiceEndpoint`) */
  endpoint?: string;
  /** Required (as for the SDK client): a call without one fails with "Region is missing". */
  region?: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default 3 (the SDK's) */
  maxAttempts?: number;
  /** @default UNHURRIED_TIMEOUTS */
  timeouts?: { connectionTimeoutMs: number; requestTimeoutMs: number };
}

/** Secrets Manager over `AwsJsonClient`: `send(new GetSecretValueCommand({ SecretId }))` as with the SDK client. */
export class SecretsManagerClient {
  private readonly caller: AwsJsonClient;

  constructor(config: SecretsManagerClientConfig) {
    const region = config.region;
    const regionProvider = async () => {
      if (!region) throw new Error('Region is missing');
      return region;
    };
    this.caller = new AwsJsonClient({
      service: 'secretsmanager',
      peer: 'Secrets Manager',
      endpoint: config.endpoint ?? (async () => awsServiceEndpoint({ envSuffix: 'SECRETS_MANAGER', hostPrefix: 'secretsmanager', region: await regionProvider(), dualStackSuffix: secretsManagerDualStackSuffix })),
      region: regionProvider,
      credentials: config.credentials,
      timeouts: config.timeouts ?? UNHURRIED_TIMEOUTS,
      maxAttempts: config.maxAttempts ?? 3,
      protocol: { targetPrefix: 'secretsmanager.', contentType: 'application/x-amz-json-1.1' },
    });
  }

  async send<Input extends object, Output extends object>(command: SecretsManagerCommand<Input, Output>): Promise<Output & { $metadata: ResponseMetadata }> {
    return (await this.caller.call(command.operation, command.input)) as Output & { $metadata: ResponseMetadata };
  }

  destroy(): void {
    this.caller.destroy();
  }
}

/** Secrets Manager's endpoint rules: its dual-stack endpoints in these partitions keep the usual names (they answer on IPv6 already). */
export function secretsManagerDualStackSuffix(partition: string, fips: boolean): string | undefined {
  if (partition === 'aws' || partition === 'aws-us-gov') return 'amazonaws.com';
  if (partition === 'aws-cn' && !fips) return 'amazonaws.com.cn';
  return undefined;
}
