import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkDocumentClient } from '../../adapters/dynamo-client';
import { DynamoSessionDirectory } from '../../adapters/dynamo-session-admin';
import { DynamoSessionStore } from '../../adapters/dynamo-session-store';
import { sdkCredentials } from '../../adapters/sdk-credentials';
import { boundedRequestHandler } from '../../adapters/sdk-timeouts';
import type { Clock } from '../../domain/clock';
import type { Telemetry, TollgateEvent } from '../../ports/telemetry';
import { SessionAdminService } from '../../services/session-admin-service';
import { CliError, ExitCodes } from '../cli-error';
import { requireOutput, StackOutputs, type AdminTarget } from './admin-target';
import { awsFailure } from './aws-errors';

/**
 * Where Tollgate's functions publish metrics (cdk/tollgate-function.ts:
 * `METRICS_NAMESPACE`, `SERVICE_NAME`), so the admin revocation's
 * `SessionRevoked` lands in the same metric as the functions' (a test keeps
 * the two equal).
 */
export const ADMIN_METRICS = { namespace: 'Tollgate', service: 'tollgate' } as const;

/** The store's timeouts for an operator: longer than the functions' (a scan page can take a while), still bounded. */
const CLI_STORE_TIMEOUTS = { connectionTimeoutMs: 3_000, requestTimeoutMs: 15_000 } as const;

/** Counts `SessionRevoked` events by source; `flush` publishes them once, at the end of the command. */
export class RevocationCounter implements Telemetry {
  readonly counts = new Map<string, number>();
  emit(event: TollgateEvent): void {
    if (event.type === 'SessionRevoked') this.counts.set(event.source, (this.counts.get(event.source) ?? 0) + 1);
  }
}

export interface SessionsRuntime {
  service: SessionAdminService;
  counter: RevocationCounter;
  /** Where the sessions are, for messages (`table X at http://…` or `table X of stack Y`). */
  where: string;
  /** The caller, recorded on a revocation: its AWS identity ARN, or `local`. */
  actor(): Promise<string>;
  /** Publishes the counted metrics: CloudWatch for a stack; locally, nothing to publish to (the summary says so). */
  publishMetrics(): Promise<'published' | 'local' | 'none'>;
  close(): void;
}

/** Builds the admin services for the target's sessions table. */
export function sessionsRuntime(target: AdminTarget, clock: Clock, env: Readonly<Record<string, string | undefined>>): SessionsRuntime {
  let endpoint: string | undefined;
  let table: string;
  if (target.mode === 'local') {
    if (!target.endpoint) {
      throw new CliError(
        ExitCodes.usage,
        'no store to act on: give --stack <name> for a deployed Tollgate, or --endpoint (DYNAMODB_ENDPOINT) for a local one (npm start prints its store endpoint)',
      );
    }
    endpoint = target.endpoint;
    table = target.sessionsTable;
  } else {
    table = requireOutput(target, StackOutputs.sessionsTable);
  }
  const local = target.mode === 'local';
  const client = new DynamoDBClient({
    endpoint,
    // Locally, the region and credentials the local server's own clients use (`sdkCredentials`): DynamoDB Local
    // without -sharedDb keeps one database per access key and region, so the CLI must present the same ones.
    // A stack: the SDK's default chain (environment, profile, SSO), as an operator's shell has it.
    region: local ? (env.AWS_REGION ?? 'local') : undefined,
    credentials: local ? sdkCredentials({ ...env }, endpoint) : undefined,
    maxAttempts: 3,
    requestHandler: boundedRequestHandler(CLI_STORE_TIMEOUTS),
  });
  // The store adapters' commands (./dynamo-commands) through the SDK's pipeline, as before.
  const db = sdkDocumentClient(client);
  const nowSeconds = () => Math.floor(clock.now() / 1000);
  const counter = new RevocationCounter();
  const service = new SessionAdminService({
    sessions: new DynamoSessionStore(db, table, nowSeconds),
    directory: new DynamoSessionDirectory(db, table, nowSeconds),
    telemetry: counter,
    clock,
  });
  let actor: Promise<string> | undefined;
  return {
    service,
    counter,
    where: local ? `table ${table} at ${endpoint}` : `table ${table} of stack ${target.stackName}`,
    actor: () => (actor ??= local ? Promise.resolve('local') : callerArn()),
    publishMetrics: async () => {
      if (counter.counts.size === 0) return 'none';
      if (local) return 'local';
      await putMetrics(counter.counts);
      return 'published';
    },
    close: () => client.destroy(),
  };
}

async function callerArn(): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({});
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (!identity.Arn) throw new CliError(ExitCodes.credentials, 'STS GetCallerIdentity named no caller');
    return identity.Arn;
  } catch (error) {
    throw awsFailure(error, 'STS GetCallerIdentity');
  } finally {
    sts.destroy();
  }
}

/** `SessionRevoked` with the functions' dimensions (`service`, `source`), one datum per source. */
async function putMetrics(counts: ReadonlyMap<string, number>): Promise<void> {
  const { CloudWatchClient, PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
  const cloudwatch = new CloudWatchClient({});
  try {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: ADMIN_METRICS.namespace,
        MetricData: [...counts].map(([source, count]) => ({
          MetricName: 'SessionRevoked',
          Dimensions: [
            { Name: 'service', Value: ADMIN_METRICS.service },
            { Name: 'source', Value: source },
          ],
          Unit: 'Count',
          Value: count,
        })),
      }),
    );
  } catch (error) {
    throw awsFailure(error, 'CloudWatch PutMetricData');
  } finally {
    cloudwatch.destroy();
  }
}
