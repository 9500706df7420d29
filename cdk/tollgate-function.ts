import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ASSET_HANDLER, defaultAssetsDirectory, functionAssetPath, type FunctionAsset } from './function-assets';

/** Powertools' service name on every function: the `service` dimension of every metric. */
export const SERVICE_NAME = 'tollgate';

/** Powertools' metrics namespace (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'Tollgate';

/** The newest Node.js runtime aws-cdk-lib 2.276 offers. */
export const NODE_RUNTIME = Runtime.NODEJS_24_X;

export interface TollgateFunctionProps {
  /**
   * The folder holding the prebuilt function assets (`<name>/index.mjs`).
   * @default the package's own `dist/assets` (see `defaultAssetsDirectory`)
   */
  assetsDirectory?: string;
  /** Which function: its entry module under `src/lambda/`, bundled to `dist/assets/<entry>/index.mjs`. */
  entry: FunctionAsset;
  description: string;
  environment: Record<string, string>;
  logRetentionDays: number;
  /** @default Duration.seconds(10) */
  timeout?: Duration;
  /** @default 512 (MB; CPU share grows with it) */
  memorySize?: number;
}

/**
 * One Lambda function for one job: Node.js (newest runtime) on arm64, the
 * prebuilt ESM bundle that ships in the package (`dist/assets/<entry>`,
 * built by scripts/build.ts when the package is built), its own log group
 * with retention, and its own role whose only statement at creation is
 * writing to that log group. Every other permission is added by whoever
 * wires the function, statement by statement, so the role holds exactly what
 * the code uses.
 *
 * A synth bundles nothing: no esbuild, no Docker, no Tollgate sources and no
 * lock file are needed where the constructs are used; the asset hash is the
 * hash of the folder's content, so a deployment changes a function exactly
 * when its bundle changed.
 *
 * The bundle includes the AWS SDK instead of using the runtime's copy: the
 * version that was tested is the version that runs, and the artifact runs
 * anywhere (the artifact test loads it outside Lambda).
 */
export class TollgateFunction extends Construct {
  readonly fn: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: TollgateFunctionProps) {
    super(scope, id);
    // Logs are retained when the stack is deleted: they are the audit trail of every token issued.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${props.entry} function`,
    });
    // Lambda creates the log streams; the group exists already (no logs:CreateLogGroup).
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // The construct id 'Function' is the one NodejsFunction had: the functions' logical ids did not change.
    this.fn = new LambdaFunction(this, 'Function', {
      code: Code.fromAsset(functionAssetPath(props.assetsDirectory ?? defaultAssetsDirectory(), props.entry)),
      handler: ASSET_HANDLER,
      description: props.description,
      runtime: NODE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
  }
}
