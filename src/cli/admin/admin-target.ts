import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvNames } from '../../contract/env-names';
import { CliError, ExitCodes } from '../cli-error';
import type { TargetOptions } from './admin-options';
import { awsFailure } from './aws-errors';

/** The stack outputs the admin commands read (cdk/tollgate-stack.ts names them). */
export const StackOutputs = {
  sessionsTable: 'SessionsTableName',
  signingKeysSecret: 'SigningKeysSecretArn',
  apiUrl: 'ApiUrl',
} as const;

/** Default table names of `npm start` (src/local/local-tollgate.ts). */
export const LOCAL_SESSIONS_TABLE = 'tollgate-sessions';

/** Where the admin commands act: a deployed stack (AWS credentials from the usual environment) or a local one. */
export type AdminTarget =
  | { mode: 'aws'; stackName: string; outputs: Record<string, string> }
  | { mode: 'local'; endpoint?: string; sessionsTable: string; keysFile: string };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the target: `--stack <name>` (or `TOLLGATE_STACK`) reads the
 * stack's CloudFormation outputs; `--outputs <file>` reads a
 * `cdk deploy --outputs-file` document instead; otherwise local mode:
 * `--endpoint` or `DYNAMODB_ENDPOINT` (the store `npm start` prints),
 * `--sessions-table` or `TOLLGATE_SESSIONS_TABLE` (default
 * `tollgate-sessions`), and the keys file `--keys-file`,
 * `TOLLGATE_SIGNING_KEYS_FILE`, or `signing-keys.json` in
 * `TOLLGATE_DATA_DIR` (default `.tollgate`).
 */
export async function resolveTarget(options: TargetOptions, env: Env): Promise<AdminTarget> {
  const stackName = options.stack ?? (options.outputs === undefined && options.endpoint === undefined ? env.TOLLGATE_STACK || undefined : undefined);
  if (options.outputs !== undefined) return { mode: 'aws', ...(await outputsFromFile(options.outputs)) };
  if (stackName !== undefined) return { mode: 'aws', stackName, outputs: await outputsFromCloudFormation(stackName) };
  return {
    mode: 'local',
    endpoint: options.endpoint ?? (env[EnvNames.dynamodbEndpoint] || undefined),
    sessionsTable: options.sessionsTable ?? (env[EnvNames.sessionsTable] || LOCAL_SESSIONS_TABLE),
    keysFile: options.keysFile ?? (env[EnvNames.signingKeysFile] || join(env.TOLLGATE_DATA_DIR || '.tollgate', 'signing-keys.json')),
  };
}

/** An output the command needs, or a clear refusal naming the stack. */
export function requireOutput(target: Extract<AdminTarget, { mode: 'aws' }>, name: string): string {
  const value = target.outputs[name];
  if (!value) {
    throw new CliError(ExitCodes.notFound, `stack ${target.stackName} has no output ${name}: is it a Tollgate stack, deployed with this version?`);
  }
  return value;
}

async function outputsFromCloudFormation(stackName: string): Promise<Record<string, string>> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({});
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = answer.Stacks?.[0];
    if (!stack) throw new CliError(ExitCodes.notFound, `no stack ${stackName}`);
    return Object.fromEntries((stack.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [])));
  } catch (error) {
    if (error instanceof CliError) throw error;
    const name = (error as { name?: string }).name;
    if (name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new CliError(ExitCodes.notFound, `no stack ${stackName} in ${await client.config.region().catch(() => 'this region')}`);
    }
    throw awsFailure(error, 'CloudFormation DescribeStacks');
  } finally {
    client.destroy();
  }
}

/** `cdk deploy --outputs-file` writes `{ "<stack>": { "<output>": "<value>" } }`; the file must name one stack. */
async function outputsFromFile(path: string): Promise<{ stackName: string; outputs: Record<string, string> }> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(ExitCodes.usage, `--outputs ${path}: ${code ? `cannot read the file (${code})` : 'not JSON'}`);
  }
  const stacks = document && typeof document === 'object' && !Array.isArray(document) ? Object.entries(document) : [];
  const tollgate = stacks.filter(([, outputs]) => outputs && typeof outputs === 'object' && StackOutputs.sessionsTable in (outputs as object));
  if (tollgate.length !== 1) {
    throw new CliError(ExitCodes.usage, `--outputs ${path}: expected the outputs of exactly one Tollgate stack (cdk deploy --outputs-file), found ${tollgate.length}`);
  }
  const [stackName, outputs] = tollgate[0]!;
  return { stackName, outputs: Object.fromEntries(Object.entries(outputs as Record<string, unknown>).filter(([, value]) => typeof value === 'string')) as Record<string, string> };
}
