import { Aws, Duration, SecretValue } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnRotationSchedule, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EnvNames } from '../src/contract/env-names';
import { TollgateFunction } from './tollgate-function';

/**
 * What the secret holds until its first rotation: an empty key set. Not
 * secret (no key), and the only value the template ever carries; the
 * rotation function recognises it and creates the first keys.
 */
export const EMPTY_KEY_SET = '{"current":"","keys":[]}';

export interface SigningKeysProps {
  /** The prebuilt function assets. @default the package's own (see `TollgateFunction`) */
  assetsDirectory?: string;
  /** The config the functions receive (the rotation function reads `signing.alg` and `accessTokenTtlSeconds`). */
  functionConfigJson: string;
  /** Its stamp (`TOLLGATE_CONFIG_STAMP`, see `DeployConfig.functionConfigStamp`): the function refuses a config without it. */
  functionConfigStamp: string;
  logRetentionDays: number;
  /** @default 30 */
  rotationDays?: number;
}

/**
 * The signing key set: a Secrets Manager secret holding the JWK set document
 * (`{current, keys[]}`, see `src/adapters/jwk-set.ts`) and the rotation
 * function that writes it. No private key is ever in the template or in
 * `cdk.out`: the secret is deployed empty and the first rotation, which
 * Secrets Manager runs as soon as the schedule exists, generates the keys
 * inside the rotation function. Until then (seconds after the deployment)
 * the token functions answer 503 `temporarily_unavailable`.
 *
 * The secret is encrypted with Secrets Manager's AWS managed key, so readers
 * need no KMS permission. It is deleted with the stack (keys are worthless
 * without the deployment that trusts them).
 */
export class SigningKeys extends Construct {
  readonly secret: Secret;
  readonly rotation: TollgateFunction;
  readonly schedule: CfnRotationSchedule;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    const days = props.rotationDays ?? 30;
    this.secret = new Secret(this, 'Secret', {
      description: 'Tollgate signing keys: JWK set document {current, keys[]} (written by the rotation function only)',
      secretStringValue: SecretValue.unsafePlainText(EMPTY_KEY_SET),
    });

    this.rotation = new TollgateFunction(this, 'Rotation', {
      assetsDirectory: props.assetsDirectory,
      entry: 'rotate-keys',
      description: 'Tollgate: rotates the signing key set (Secrets Manager rotation steps)',
      environment: { [EnvNames.configJson]: props.functionConfigJson, [EnvNames.configStamp]: props.functionConfigStamp },
      logRetentionDays: props.logRetentionDays,
      // RSA key generation is the slow part; four short steps per rotation.
      timeout: Duration.seconds(60),
      memorySize: 512,
    });
    this.rotation.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [this.secret.secretArn],
      }),
    );
    // Only Secrets Manager, on behalf of this account, may invoke it.
    this.rotation.fn.addPermission('InvokedBySecretsManager', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: Aws.ACCOUNT_ID,
    });
    const permission = this.rotation.fn.node.findChild('InvokedBySecretsManager');

    // The L1 on purpose: the L2 `addRotationSchedule` also grants `secretsmanager:GetRandomPassword` on `*`, which this function never calls.
    this.schedule = new CfnRotationSchedule(this, 'Schedule', {
      secretId: this.secret.secretArn,
      rotationLambdaArn: this.rotation.fn.functionArn,
      rotationRules: { scheduleExpression: days === 1 ? 'rate(1 day)' : `rate(${days} days)` },
      rotateImmediatelyOnUpdate: true,
    });
    this.schedule.node.addDependency(permission, this.rotation.role);
  }

  /** Lets a function read the key set: `GetSecretValue` on this secret, nothing else. */
  grantRead(fn: TollgateFunction): void {
    fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }));
  }
}
