import { partition } from '@aws-sdk/core/client';

export interface AwsEndpointOptions {
  /** The service's configured-endpoint suffix (`SECRETS_MANAGER` of `AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
  envSuffix: string;
  /** The regional host's first label (`secretsmanager`, `lambda`). */
  hostPrefix: string;
  region: string;
  /** The service's own dual-stack DNS suffix in a partition (by its name), where its rules name one; else the partition's. */
  dualStackSuffix?: (partition: string, fips: boolean) => string | undefined;
  /** The service's own endpoint where its rules depart from the pattern (DynamoDB's `local` region); undefined elsewhere. */
  special?: (settings: { region: string; partition: string; fips: boolean; dualStack: boolean }) => string | undefined;
  /** Where `AWS_ENDPOINT_URL*`, `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT` are read. @default process.env */
  env?: Record<string, string | undefined>;
}

/**
 * A regional service's endpoint for a client built without one, as the SDK
 * resolves it for Secrets Manager and Lambda: `AWS_ENDPOINT_URL_<SERVICE>`,
 * else `AWS_ENDPOINT_URL` (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), else
 * `https://<prefix>[-fips].<region>.<partition's DNS suffix>` with the
 * partition's dual-stack suffix under `AWS_USE_DUALSTACK_ENDPOINT` (or the
 * service's own, `dualStackSuffix`) (the SDK's
 * own partition table, `@aws-sdk/core`). Tested against the SDK clients'
 * endpoint rules (test/adapters/aws-endpoint.test.ts). Not read: endpoint
 * settings in `~/.aws/config` (a Lambda has none).
 */
export function awsServiceEndpoint(options: AwsEndpointOptions): string {
  const env = options.env ?? process.env;
  if (!isTrue(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)) {
    const configured = env[`AWS_ENDPOINT_URL_${options.envSuffix}`] || env.AWS_ENDPOINT_URL;
    if (configured) return configured;
  }
  const fips = isTrue(env.AWS_USE_FIPS_ENDPOINT);
  const dualStack = isTrue(env.AWS_USE_DUALSTACK_ENDPOINT);
  const info = partition(options.region);
  const special = options.special?.({ region: options.region, partition: info.name, fips, dualStack });
  if (special) return special;
  if (fips && !info.supportsFIPS) throw new Error('FIPS is enabled but this partition does not support FIPS');
  if (dualStack && !info.supportsDualStack) throw new Error('DualStack is enabled but this partition does not support DualStack');
  const suffix = dualStack ? (options.dualStackSuffix?.(info.name, fips) ?? info.dualStackDnsSuffix) : info.dnsSuffix;
  return `https://${options.hostPrefix}${fips ? '-fips' : ''}.${options.region}.${suffix}`;
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}
