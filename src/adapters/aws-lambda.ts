import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AwsJsonClient, UNHURRIED_TIMEOUTS, type ResponseMetadata } from './aws-json-client';
import { awsServiceEndpoint } from './aws-endpoint';

/*
 * Lambda's Invoke, as `@aws-sdk/client-lambda` names and shapes it, sent by
 * `AwsJsonClient` (restJson1: `POST /2015-03-31/functions/<name>/invocations`,
 * the payload as the body) instead of the SDK client, which put ~100 KB more
 * into the token function's bundle. Errors carry the SDK's names
 * (`TooManyRequestsException`, `ResourceNotFoundException`, …).
 */

export interface InvokeInput {
  FunctionName: string;
  InvocationType?: 'RequestResponse' | 'Event' | 'DryRun';
  Payload?: Uint8Array;
}

export interface InvokeOutput {
  StatusCode?: number;
  FunctionError?: string;
  ExecutedVersion?: string;
  Payload?: Uint8Array;
  $metadata: ResponseMetadata;
}

export class InvokeCommand {
  constructor(readonly input: InvokeInput) {}
}

export interface LambdaClientConfig {
  /** @default `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL`, else the region's (`awsServiceEndpoint`) */
  endpoint?: string;
  /** Required (as for the SDK client): a call without one fails with "Region is missing". */
  region?: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default 3 (the SDK's) */
  maxAttempts?: number;
  /** @default UNHURRIED_TIMEOUTS */
  timeouts?: { connectionTimeoutMs: number; requestTimeoutMs: number };
}

/** Lambda over `AwsJsonClient`: `send(new InvokeCommand({ FunctionName, Payload }))` as with the SDK client. */
export class LambdaClient {
  private readonly caller: AwsJsonClient;

  constructor(config: LambdaClientConfig) {
    const region = config.region;
    const regionProvider = async () => {
      if (!region) throw new Error('Region is missing');
      return region;
    };
    this.caller = new AwsJsonClient({
      service: 'lambda',
      peer: 'Lambda',
      endpoint: config.endpoint ?? (async () => awsServiceEndpoint({ envSuffix: 'LAMBDA', hostPrefix: 'lambda', region: await regionProvider() })),
      region: regionProvider,
      credentials: config.credentials,
      timeouts: config.timeouts ?? UNHURRIED_TIMEOUTS,
      maxAttempts: config.maxAttempts ?? 3,
    });
  }

  async send(command: InvokeCommand): Promise<InvokeOutput> {
    const { FunctionName, InvocationType, Payload } = command.input;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (InvocationType) headers['x-amz-invocation-type'] = InvocationType;
    const answer = await this.caller.request({
      path: `/2015-03-31/functions/${extendedEncode(FunctionName)}/invocations`,
      headers,
      body: Payload ? Buffer.from(Payload.buffer, Payload.byteOffset, Payload.byteLength) : Buffer.alloc(0),
    });
    const output: InvokeOutput = { StatusCode: answer.status, Payload: new Uint8Array(answer.body), $metadata: answer.$metadata };
    const functionError = header(answer.headers['x-amz-function-error']);
    if (functionError !== undefined) output.FunctionError = functionError;
    const version = header(answer.headers['x-amz-executed-version']);
    if (version !== undefined) output.ExecutedVersion = version;
    return output;
  }

  destroy(): void {
    this.caller.destroy();
  }
}

/** The SDK's path-label encoding (`extendedEncodeURIComponent`): `encodeURIComponent` plus `!'()*`. */
function extendedEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
