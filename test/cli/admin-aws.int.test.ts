import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '../../src/adapters/aws-secrets-manager';
import { generateSigningJwk } from '../../src/adapters/jwk-set';
import { SecretsManagerRotationStore } from '../../src/adapters/secrets-manager-rotation-store';
import { systemClock } from '../../src/domain/clock';
import { rotationPolicyFor, type RotatingKeyDocument } from '../../src/domain/key-set-rotation';
import { SigningKeyRotation } from '../../src/services/signing-key-rotation';
import { ADMIN_METRICS } from '../../src/cli/admin/admin-runtime';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../cdk/tollgate-function';
import { startTokenSuite, sidOf, type TokenSuite } from '../integration/token-fixtures';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';
import { snapshotStore } from '../support/store-snapshot';
import { startFakeAws, type FakeAws } from './admin-aws-fakes';
import { tollgate } from './cli-harness';

/**
 * The admin commands against a "deployed" Tollgate: `--stack` resolves the
 * table and the signing key secret from CloudFormation outputs, the caller is
 * named by STS, the metric goes to CloudWatch, the keys live in Secrets
 * Manager. The real SDK clients reach loopback stand-ins through
 * `AWS_ENDPOINT_URL_<SERVICE>` (the SDK's own endpoint settings): DynamoDB is
 * the local server's real store, Secrets Manager the shared fake (with the
 * rotation function run in-process), the rest `admin-aws-fakes.ts`.
 */
describe('tollgate admin commands with --stack (AWS APIs on loopback)', () => {
  const EMPTY = '{"current":"","keys":[]}';
  let suite: TokenSuite;
  let aws: FakeAws;
  let secrets: FakeSecretsManager;
  let secretsClient: SecretsManagerClient;
  let secretArn: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    suite = await startTokenSuite();
    aws = await startFakeAws();
    secrets = await startFakeSecretsManager();
    secretArn = secrets.createSecret('tollgate-signing-keys', EMPTY, { rotationEnabled: true });
    secretsClient = new SecretsManagerClient({ endpoint: secrets.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'rotation-fn', secretAccessKey: 'x' } });
    const rotation = new SigningKeyRotation({
      store: new SecretsManagerRotationStore(secretsClient),
      clock: systemClock,
      policy: rotationPolicyFor({ accessTokenTtlSeconds: 900 }),
      generateKey: () => generateSigningJwk('ES256'),
      log: { info: () => undefined },
    });
    secrets.rotationFunction = (event) => rotation.run(event);
    aws.stacks.set('tollgate-prod', {
      SessionsTableName: suite.tollgate.tables.sessions,
      GuardsTableName: suite.tollgate.tables.guards,
      SigningKeysSecretArn: secretArn,
      ApiUrl: suite.tollgate.baseUrl,
    });
    env = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAOPERATOR',
      AWS_SECRET_ACCESS_KEY: 'operator-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoint,
      AWS_ENDPOINT_URL_STS: aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: aws.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: suite.tollgate.storeEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    };
  }, 30_000);
  afterAll(async () => {
    secretsClient?.destroy();
    await secrets?.close();
    await aws?.close();
    await suite?.close();
  });

  it("publishes SessionRevoked where the functions' metrics are: same namespace and service dimension", () => {
    expect(ADMIN_METRICS).toEqual({ namespace: METRICS_NAMESPACE, service: SERVICE_NAME });
  });

  it("finds the sessions table from the stack's outputs, with the caller's credentials", async () => {
    const session = await suite.session('ci');

    const run = await tollgate(['sessions', 'list', '--stack', 'tollgate-prod', '--trust', 'github', '--json'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`"sid":"${sidOf(session.access_token)}"`);
    expect(aws.calls).toContainEqual({ service: 'cloudformation', operation: 'DescribeStacks', accessKeyId: 'AKIAOPERATOR' });
  });

  it('revokes as the caller STS names, records it, and publishes SessionRevoked{service, source=admin} to CloudWatch', async () => {
    const alice = await suite.tollgate.exchange(await suite.clerkToken({ sub: 'user_offboarded' }));
    const sid = sidOf((alice.json as { access_token: string }).access_token);
    const metricsBefore = aws.metrics.length;

    const run = await tollgate(['sessions', 'revoke', '--stack', 'tollgate-prod', '--sub', 'clerk:user_offboarded', '--reason', 'offboarding', '--yes'], env);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('revoked 1 session by arn:aws:sts::123456789012:assumed-role/oncall/alice');
    expect(run.stderr).toContain('metric: SessionRevoked{source=admin} +1 published to CloudWatch');
    expect(await suite.item(sid)).toMatchObject({
      status: 'revoked',
      endReason: 'revoked',
      adminRevocation: { by: 'arn:aws:sts::123456789012:assumed-role/oncall/alice', reason: 'offboarding' },
    });
    expect(aws.metrics.slice(metricsBefore)).toEqual([
      {
        Namespace: 'Tollgate',
        MetricData: [{ MetricName: 'SessionRevoked', Dimensions: [{ Name: 'service', Value: 'tollgate' }, { Name: 'source', Value: 'admin' }], Unit: 'Count', Value: 1 }],
      },
    ]);
  });

  it('reads the outputs from a cdk deploy --outputs-file document instead of CloudFormation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-outputs-'));
    const outputs = join(dir, 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ 'tollgate-prod': aws.stacks.get('tollgate-prod') }));
    const describeCalls = aws.calls.filter((call) => call.service === 'cloudformation').length;

    const run = await tollgate(['sessions', 'list', '--outputs', outputs, '--kind', 'user', '--json'], env);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('scanning the whole sessions table');
    expect(aws.calls.filter((call) => call.service === 'cloudformation')).toHaveLength(describeCalls);
  });

  it('exits 5 for a stack that does not exist', async () => {
    const run = await tollgate(['sessions', 'list', '--stack', 'no-such-stack'], env);

    expect(run.code).toBe(5);
    expect(run.stderr).toContain('no stack no-such-stack');
  });

  it('exits 3 and ends nothing when STS refuses the caller, before any write', async () => {
    await suite.tollgate.exchange(await suite.clerkToken({ sub: 'user_denied' }));
    const before = await snapshotStore(suite.db, suite.tollgate.tables);
    aws.caller = 'denied';
    try {
      const run = await tollgate(['sessions', 'revoke', '--stack', 'tollgate-prod', '--sub', 'clerk:user_denied', '--reason', 'x', '--yes'], env);

      expect(run.code).toBe(3);
      expect(run.stderr).toContain('STS GetCallerIdentity: AccessDenied: the caller lacks the permission');
      expect(await snapshotStore(suite.db, suite.tollgate.tables)).toEqual(before);
    } finally {
      aws.caller = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
    }
  });

  it('exits 3 without credentials', async () => {
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...withoutCredentials } = env;

    const run = await tollgate(['sessions', 'list', '--stack', 'tollgate-prod'], { ...withoutCredentials, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });

    expect(run.code).toBe(3);
    expect(run.stderr).toContain('no AWS credentials');
  }, 30_000);

  it('rotates the signing key secret through Secrets Manager, waits for the rotation function, and lists the keys without key material', async () => {
    const rotated = await tollgate(['keys', 'rotate', '--stack', 'tollgate-prod', '--wait', '30'], env);
    const listed = await tollgate(['keys', 'list', '--stack', 'tollgate-prod', '--json'], env);

    expect(rotated.code).toBe(0);
    expect(secrets.rotationFailures).toEqual([]);
    const document = JSON.parse(secrets.value(secretArn)!) as RotatingKeyDocument;
    expect(rotated.stderr).toContain(`rotated: ${document.current} now signs`);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ kid: document.current, alg: 'ES256', state: 'current' }),
      expect.objectContaining({ kid: document.next, alg: 'ES256', state: 'next' }),
    ]);
    expect(listed.stderr).toMatch(/^rotation: on; last never; next -/m);
    for (const key of document.keys) expect(listed.stdout + rotated.stdout).not.toContain(key.d!);
    expect(secrets.calls.filter((call) => call.operation === 'RotateSecret')).toEqual([{ accessKeyId: 'AKIAOPERATOR', operation: 'RotateSecret', secretArn }]);
  }, 30_000);

  it('refuses to rotate when rotation is off on the secret (exit 1, nothing started)', async () => {
    const off = secrets.createSecret('rotation-off', EMPTY, { rotationEnabled: false });
    aws.stacks.set('rotation-off', { SessionsTableName: suite.tollgate.tables.sessions, SigningKeysSecretArn: off });

    const run = await tollgate(['keys', 'rotate', '--stack', 'rotation-off'], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('rotation is not enabled on the signing key secret; nothing started');
    expect(secrets.calls.filter((call) => call.operation === 'RotateSecret' && call.secretArn === off)).toEqual([]);
  });
});
