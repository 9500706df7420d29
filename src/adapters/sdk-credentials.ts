import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * The credentials of every SDK client Tollgate builds: the environment
 * variables Lambda sets for the function's role (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and nothing else. The SDK's
 * default chain would also look for SSO, INI files, `credential_process`,
 * web identity and container or instance metadata, which a Lambda never uses;
 * the Lambda bundles replace it altogether (`src/lambda/bundling.ts`).
 *
 * A client pointed at a local endpoint (the embedded store, DynamoDB Local,
 * a loopback fake) without credentials in the environment gets placeholder
 * ones: local stores accept any, and nothing goes looking for real ones.
 */
export function sdkCredentials(env: Record<string, string | undefined>, endpoint?: string): AwsCredentialIdentity | AwsCredentialIdentityProvider {
  if (endpoint && !env.AWS_ACCESS_KEY_ID) return { accessKeyId: 'local', secretAccessKey: 'local' };
  return fromEnv();
}
