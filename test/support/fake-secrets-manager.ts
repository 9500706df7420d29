import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The Secrets Manager rotation event, as the service sends it to a rotation function. */
export interface FakeRotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
}

interface Version {
  value?: string;
  stages: Set<string>;
}

interface Secret {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  versions: Map<string, Version>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A loopback fake of the Secrets Manager JSON API (protocol `awsJson1_1`,
 * `X-Amz-Target: secretsmanager.<Operation>`), standing in for the real
 * service, which these tests cannot reach. It implements what Tollgate's
 * functions call — GetSecretValue, DescribeSecret, PutSecretValue,
 * UpdateSecretVersionStage — with the service's staging-label rules (a label
 * is on at most one version; moving AWSCURRENT requires naming the version it
 * leaves and moves AWSPREVIOUS there; a pending version has no value until
 * createSecret stores one), and `rotate()`, which plays the service's side of
 * a rotation: it creates the AWSPENDING version, then invokes the four steps
 * in order and checks that AWSCURRENT moved.
 *
 * What it does not do: check signatures beyond requiring a SigV4
 * Authorization header, KMS, resource policies, or the service's retries.
 */
export interface FakeSecretsManager {
  endpoint: string;
  /** Creates a secret and returns its ARN. */
  createSecret(name: string, value: string, options?: { rotationEnabled?: boolean }): string;
  /** Runs one rotation the way Secrets Manager does; resolves with the new version id. */
  rotate(secretId: string, invoke: (event: FakeRotationEvent) => Promise<void>): Promise<string>;
  /** The value of the version labelled `stage`. */
  value(secretId: string, stage?: string): string | undefined;
  /** Version id → labels. */
  stages(secretId: string): Record<string, string[]>;
  /** Operations served, in order (`GetSecretValue`, …). */
  operations: string[];
  /** Every call: the caller's access key id (from its SigV4 Authorization header), the operation and the secret's ARN. */
  calls: { accessKeyId: string; operation: string; secretArn?: string }[];
  /** Stores a new AWSCURRENT value (as an operator's put-secret-value would); AWSPREVIOUS moves to the old one. */
  putCurrent(secretId: string, value: string): void;
  /**
   * The rotation function `RotateSecret` invokes (as the secret's configured
   * Lambda): the API call answers at once with the new version id and the
   * steps run in the background, as the service runs them. Unset: refused.
   */
  rotationFunction?: (event: FakeRotationEvent) => Promise<void>;
  /** Errors of background rotations started by `RotateSecret`. */
  rotationFailures: unknown[];
  close(): Promise<void>;
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const region = 'us-east-1';
  const account = '123456789012';
  const secrets = new Map<string, Secret>();
  const operations: string[] = [];
  const calls: FakeSecretsManager['calls'] = [];

  const find = (id: unknown): Secret => {
    if (typeof id !== 'string' || !id) throw new ApiError('InvalidParameterException', 'SecretId is required');
    const secret = secrets.get(id) ?? [...secrets.values()].find((candidate) => candidate.arn === id);
    if (!secret) throw new ApiError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const holder = (secret: Secret, stage: string) => [...secret.versions.entries()].find(([, version]) => version.stages.has(stage));
  const moveLabel = (secret: Secret, stage: string, to: string) => {
    for (const version of secret.versions.values()) version.stages.delete(stage);
    secret.versions.get(to)!.stages.add(stage);
  };
  const stagesOf = (secret: Secret) =>
    Object.fromEntries([...secret.versions.entries()].filter(([, v]) => v.stages.size > 0).map(([id, v]) => [id, [...v.stages]]));

  /** Labels a new version AWSPENDING now; the returned promise runs the four steps and resolves with the version id. */
  const startRotation = (secretId: string, invoke: (event: FakeRotationEvent) => Promise<void>): { versionId: string; done: Promise<string> } => {
    const secret = find(secretId);
    const currentBefore = holder(secret, 'AWSCURRENT')?.[0];
    const pending = holder(secret, 'AWSPENDING')?.[0];
    if (pending && pending !== currentBefore) throw new ApiError('InvalidRequestException', "A previous rotation isn't complete. That rotation will be reattempted.");
    secret.rotationEnabled = true;
    const versionId = randomUUID();
    secret.versions.set(versionId, { stages: new Set() });
    moveLabel(secret, 'AWSPENDING', versionId);
    const done = (async () => {
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
        await invoke({ Step: step, SecretId: secret.arn, ClientRequestToken: versionId });
      }
      if (holder(secret, 'AWSCURRENT')?.[0] !== versionId) throw new Error('finishSecret did not move AWSCURRENT to the new version');
      secret.versions.get(versionId)!.stages.delete('AWSPENDING');
      return versionId;
    })();
    return { versionId, done };
  };
  const rotationFailures: unknown[] = [];
  let rotationFunction: FakeSecretsManager['rotationFunction'];

  const operationsTable: Record<string, (input: Record<string, unknown>) => unknown> = {
    RotateSecret(input) {
      const secret = find(input.SecretId);
      if (!rotationFunction) throw new ApiError('InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
      const { versionId, done } = startRotation(secret.arn, rotationFunction);
      done.catch((error: unknown) => rotationFailures.push(error));
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
    },
    GetSecretValue(input) {
      const secret = find(input.SecretId);
      const stage = typeof input.VersionStage === 'string' ? input.VersionStage : input.VersionId ? undefined : 'AWSCURRENT';
      const entry =
        typeof input.VersionId === 'string'
          ? ([input.VersionId, secret.versions.get(input.VersionId)] as const)
          : holder(secret, stage!);
      const [versionId, version] = entry ?? [];
      if (!version || (stage && !version.stages.has(stage)) || version.value === undefined) {
        throw new ApiError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label or version id.");
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId, SecretString: version.value, VersionStages: [...version.stages], CreatedDate: Date.now() / 1000 };
    },
    DescribeSecret(input) {
      const secret = find(input.SecretId);
      return { ARN: secret.arn, Name: secret.name, RotationEnabled: secret.rotationEnabled, VersionIdsToStages: stagesOf(secret) };
    },
    PutSecretValue(input) {
      const secret = find(input.SecretId);
      if (typeof input.SecretString !== 'string') throw new ApiError('InvalidParameterException', 'SecretString is required');
      const versionId = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
      const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : ['AWSCURRENT'];
      const existing = secret.versions.get(versionId);
      if (existing?.value !== undefined) {
        if (existing.value !== input.SecretString) throw new ApiError('ResourceExistsException', 'A version with this ClientRequestToken already exists with a different value.');
      } else if (existing) {
        existing.value = input.SecretString;
      } else {
        secret.versions.set(versionId, { value: input.SecretString, stages: new Set() });
      }
      for (const stage of stages) {
        if (stage === 'AWSCURRENT') {
          const previous = holder(secret, 'AWSCURRENT')?.[0];
          if (previous && previous !== versionId) moveLabel(secret, 'AWSPREVIOUS', previous);
        }
        moveLabel(secret, stage, versionId);
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: stages };
    },
    UpdateSecretVersionStage(input) {
      const secret = find(input.SecretId);
      const stage = input.VersionStage;
      if (typeof stage !== 'string') throw new ApiError('InvalidParameterException', 'VersionStage is required');
      const current = holder(secret, stage)?.[0];
      const moveTo = input.MoveToVersionId;
      if (typeof moveTo !== 'string' || !secret.versions.has(moveTo)) throw new ApiError('InvalidParameterException', 'MoveToVersionId names no version');
      if (current && current !== moveTo && input.RemoveFromVersionId !== current) {
        throw new ApiError(
          'InvalidParameterException',
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${current}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      if (stage === 'AWSCURRENT' && current && current !== moveTo) moveLabel(secret, 'AWSPREVIOUS', current);
      moveLabel(secret, stage, moveTo);
      return { ARN: secret.arn, Name: secret.name };
    },
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(body));
      };
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
      try {
        if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
          throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
        }
        const handler = operationsTable[operation];
        if (!handler) throw new ApiError('UnknownOperationException', `unsupported operation ${target}`);
        operations.push(operation);
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '';
        let secretArn: string | undefined;
        try {
          secretArn = find(input.SecretId).arn;
        } catch {
          secretArn = undefined;
        }
        calls.push({ accessKeyId, operation, secretArn });
        reply(200, handler(input));
      } catch (error) {
        if (error instanceof ApiError) reply(400, { __type: error.type, message: error.message });
        else reply(500, { __type: 'InternalServiceError', message: String(error) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    operations,
    calls,
    putCurrent(secretId, value) {
      operationsTable.PutSecretValue!({ SecretId: secretId, SecretString: value, VersionStages: ['AWSCURRENT'] });
    },
    createSecret(name, value, options = {}) {
      const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${randomBytes(3).toString('hex')}`;
      const versionId = randomUUID();
      secrets.set(name, {
        arn,
        name,
        rotationEnabled: options.rotationEnabled ?? false,
        versions: new Map([[versionId, { value, stages: new Set(['AWSCURRENT']) }]]),
      });
      return arn;
    },
    async rotate(secretId, invoke) {
      return startRotation(secretId, invoke).done;
    },
    get rotationFunction() {
      return rotationFunction;
    },
    set rotationFunction(invoke) {
      rotationFunction = invoke;
    },
    rotationFailures,
    value(secretId, stage = 'AWSCURRENT') {
      return holder(find(secretId), stage)?.[1].value;
    },
    stages(secretId) {
      return stagesOf(find(secretId));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
