import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Powertools' service name on every function: the `service` dimension of every metric. */
export const SERVICE_NAME = 'tollgate';

/** Powertools' metrics namespace (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'Tollgate';

/** The newest Node.js runtime aws-cdk-lib 2.276 offers. */
export const NODE_RUNTIME = Runtime.NODEJS_24_X;

export interface TollgateFunctionProps {
  /** The repository root: `src/lambda/<entry>.ts` and `package-lock.json` live under it. */
  projectRoot: string;
  /** Module under `src/lambda/` (without `.ts`) exporting `handler`. */
  entry: string;
  description: string;
  environment: Record<string, string>;
  logRetentionDays: number;
  /** @default Duration.seconds(10) */
  timeout?: Duration;
  /** @default 512 (MB; CPU share grows with it) */
  memorySize?: number;
}

/**
 * One Lambda function for one job: Node.js (newest runtime) on arm64, an ESM
 * bundle built by the local esbuild, its own log group with retention, and
 * its own role whose only statement at creation is writing to that log group.
 * Every other permission is added by whoever wires the function, statement by
 * statement, so the role holds exactly what the code uses.
 *
 * The bundle includes the AWS SDK instead of using the runtime's copy: the
 * version that was tested is the version that runs, and the artifact runs
 * anywhere (the artifact test loads it outside Lambda).
 *
 * No `require` banner: every dependency bundles to code that never calls
 * `require` at run time (ESM builds first, `mainFields: ['module','main']`).
 * The artifact test fails if a bundle ever contains esbuild's "Dynamic require
 * of …" shim, which would throw inside an ESM bundle; that is when a banner
 * defining `require` (via `createRequire(import.meta.url)`) becomes necessary.
 */
export class TollgateFunction extends Construct {
  readonly fn: NodejsFunction;
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
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(props.projectRoot, 'src', 'lambda', `${props.entry}.ts`),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
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
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        minify: true,
        keepNames: true,
        sourceMap: false,
        externalModules: [],
        forceDockerBundling: false,
      },
    });
  }
}
