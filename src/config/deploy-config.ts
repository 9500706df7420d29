import { readFileSync } from 'node:fs';
import { ConfigError, SECRET_REF, parseConfig, type TollgateConfig } from './config';
import { API_ROUTES } from '../contract/routes';
import { canonicalJson, configStamp } from './config-stamp';

/**
 * Lambda's limit for all of a function's environment variables together is
 * 4 KB; the config travels in one of them, and the table names, secret ARN,
 * URL and Powertools settings take under 1 KB.
 */
export const MAX_FUNCTION_CONFIG_BYTES = 3 * 1024;

/** A config validated for deployment, and the document the functions receive. */
export interface DeployConfig {
  config: TollgateConfig;
  /**
   * The config as the functions get it in `TOLLGATE_CONFIG_JSON`: the
   * validated values (defaults filled in), without the deploy-only `aws` key,
   * as canonical JSON (`canonicalJson`). Secret refs stay refs; the functions
   * resolve them at run time. The functions do not validate it again: they
   * check `functionConfigStamp` instead (`src/app/deployed-config.ts`).
   */
  functionConfigJson: string;
  /** `TOLLGATE_CONFIG_STAMP`: the schema version and SHA-256 of `functionConfigJson` (`src/config/config-stamp.ts`). */
  functionConfigStamp: string;
  /** Secrets Manager ids (names or ARNs) each function reads through secret refs: only that function is granted them. */
  secretIds: Record<SecretReader, string[]>;
  source: string;
}

/** The functions that resolve secret refs. */
export type SecretReader = 'proxy' | 'clerkWebhook';

/** Every secret ref in a config: where it is (for messages) and which function reads it. */
export function secretRefsOf(config: TollgateConfig): { path: string; ref: string; reader: SecretReader }[] {
  const refs: { path: string; ref: string; reader: SecretReader }[] = [];
  const auth = config.proxy?.upstreamAuth;
  if (auth?.type === 'header') refs.push({ path: 'proxy.upstreamAuth.value', ref: auth.value, reader: 'proxy' });
  if (auth?.type === 'bearer') refs.push({ path: 'proxy.upstreamAuth.token', ref: auth.token, reader: 'proxy' });
  if (auth?.type === 'oauth2-client-credentials') refs.push({ path: 'proxy.upstreamAuth.clientSecret', ref: auth.clientSecret, reader: 'proxy' });
  const clerk = config.webhooks?.clerk;
  if (clerk) refs.push({ path: 'webhooks.clerk.signingSecret', ref: clerk.signingSecret, reader: 'clerkWebhook' });
  return refs;
}

/**
 * Reads and validates a config document for deployment: the full schema
 * (`parseConfig`, as local mode runs it), then what only a deployment can get
 * wrong, then stamps the validated values for the functions, which do not
 * load the schema at init. Throws a `ConfigError` listing every problem.
 *
 * Deployment-only checks: `env:` secret refs are refused (the value would
 * have to sit in the function's environment, and so in the template), each
 * `aws.routeThrottle` key must name a route of the API, and the document the
 * functions receive must fit in a Lambda environment.
 */
export function deployConfigFromText(text: string, source: string): DeployConfig {
  const config = parseConfig(text, source);
  const problems: string[] = [];

  const secretIds: Record<SecretReader, string[]> = { proxy: [], clerkWebhook: [] };
  for (const { path, ref, reader } of secretRefsOf(config)) {
    if (ref.startsWith('env:')) {
      problems.push(`${path}: env: refs cannot be deployed (the value would be stored in the function's environment and the template); store it in Secrets Manager and use aws-secretsmanager:<secret id>`);
    } else if (SECRET_REF.test(ref)) {
      const id = ref.slice('aws-secretsmanager:'.length).split('#')[0]!;
      if (!secretIds[reader].includes(id)) secretIds[reader].push(id);
    }
  }

  const routeKeys = new Set(API_ROUTES.map((route) => `${route.method} ${route.resource}`));
  for (const key of Object.keys(config.aws.routeThrottle)) {
    if (!routeKeys.has(key)) problems.push(`aws.routeThrottle.${key}: no such route; the routes are ${[...routeKeys].join(', ')}`);
  }

  // Validated once, here: the functions receive the values, not the document, and trust them by the stamp.
  const { aws: _deployOnly, ...forFunctions } = config;
  const functionConfigJson = canonicalJson(forFunctions);
  const bytes = Buffer.byteLength(functionConfigJson);
  if (bytes > MAX_FUNCTION_CONFIG_BYTES) {
    problems.push(`(root): the config the functions receive is ${bytes} bytes; Lambda environments hold 4 KB in all, so it must stay under ${MAX_FUNCTION_CONFIG_BYTES}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { config, functionConfigJson, functionConfigStamp: configStamp(functionConfigJson), secretIds, source };
}

/** `deployConfigFromText` for a file. */
export function loadDeployConfig(path: string): DeployConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${path}: cannot read (${(error as Error).message})`]);
  }
  return deployConfigFromText(text, path);
}
