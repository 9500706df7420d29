import type { TollgateConfig } from '../config/config';
import { ConfigError } from '../config/config-error';
import { SIGNING_ALGORITHMS } from '../config/config-rules';
import { EnvNames } from '../contract/env-names';
import { checkConfigStamp, CONFIG_SCHEMA_VERSION, type StampProblem } from '../config/config-stamp';

/*
 * A deployed function's config: validated once, at synth, by the full schema
 * (`src/config/deploy-config.ts`), and handed over as canonical JSON with a stamp
 * (`src/config/config-stamp.ts`). The function's init checks the stamp and
 * a few structural facts instead of loading the schema library; anything
 * that did not pass synth validation (an edited environment variable, a
 * config stamped for another schema version, no stamp at all) stops the init
 * with a `ConfigError` that says what to do. Local mode and the CLI validate
 * with `loadConfig` (`./config-file`), never this way.
 */

type Env = Record<string, string | undefined>;

const REDEPLOY = 'deploy the config with `cdk deploy`, which validates and stamps it, instead of editing the function';

function stampMessage(problem: StampProblem): string {
  switch (problem.kind) {
    case 'missing':
      return `${EnvNames.configStamp} is not set: this function runs only a config validated by cdk synth; ${REDEPLOY}`;
    case 'malformed':
      return `${EnvNames.configStamp} is not a Tollgate config stamp; ${REDEPLOY}`;
    case 'version':
      return `${EnvNames.configStamp}: the config was validated for config schema v${problem.stamped}, this function reads v${problem.expected}; deploy the config and the functions together (cdk deploy)`;
    case 'digest':
      return `${EnvNames.configJson} was changed after cdk synth validated it (its digest does not match ${EnvNames.configStamp}); ${REDEPLOY}`;
  }
}

/**
 * The validated config synth stamped into `TOLLGATE_CONFIG_JSON` and
 * `TOLLGATE_CONFIG_STAMP`, deeply frozen. Throws a `ConfigError` when either
 * is missing, the stamp does not vouch for the text, or the values lack what
 * the functions read.
 */
export function configFromStamp(env: Env): TollgateConfig {
  const text = env[EnvNames.configJson];
  if (!text) throw new ConfigError([`${EnvNames.configJson} must be set (cdk synth puts the validated config there)`]);
  const problem = checkConfigStamp(text, env[EnvNames.configStamp]);
  if (problem) throw new ConfigError([stampMessage(problem)]);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ConfigError([`${EnvNames.configJson}: not valid JSON`]);
  }
  const problems = structuralProblems(document);
  if (problems.length > 0) {
    throw new ConfigError([`${EnvNames.configJson} lacks what config schema v${CONFIG_SCHEMA_VERSION} gives every function:`, ...problems]);
  }
  return deepFreeze(document) as TollgateConfig;
}

type Check = (value: unknown) => boolean;
const isObject: Check = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString: Check = (value) => typeof value === 'string' && value.length > 0;
const isInteger: Check = (value) => Number.isInteger(value);
const isBoolean: Check = (value) => typeof value === 'boolean';
const isNonEmptyArray: Check = (value) => Array.isArray(value) && value.length > 0;
const optional = (check: Check): Check => (value) => value === undefined || check(value);
const oneOf = (values: readonly string[]): Check => (value) => typeof value === 'string' && values.includes(value);

const SESSION_POLICY: Record<string, Check> = {
  maxLifetimeSeconds: isInteger,
  idleTimeoutSeconds: isInteger,
  maxRefreshes: isInteger,
  refreshReuseGraceSeconds: isInteger,
};

/**
 * What every function reads without a default of its own: the members the
 * schema always fills in (defaults included). Not a second validator (the
 * digest already proves synth validated this very text), but the tripwire
 * for a config validated by an older schema whose version was not bumped.
 */
const TOP_LEVEL: Record<string, Check> = {
  issuer: optional(isString),
  audience: isString,
  accessTokenTtlSeconds: isInteger,
  signing: (value) => isObject(value) && oneOf(SIGNING_ALGORITHMS)((value as { alg?: unknown }).alg),
  sessions: (value) => isObject(value) && ['user', 'ci'].every((kind) => membersProblems((value as Record<string, unknown>)[kind], SESSION_POLICY).length === 0),
  trust: isNonEmptyArray,
  dpop: (value) => membersProblems(value, { nonce: isBoolean, nonceLifetimeSeconds: isInteger }).length === 0,
  rateLimit: (value) =>
    membersProblems(value, { requestsPerMinute: isInteger, tokenRequestsPerMinutePerSubject: isInteger, tokenRequestsPerMinutePerIp: isInteger }).length === 0,
  proxy: optional((value) => membersProblems(value, { upstreamUrl: isString, routes: Array.isArray, timeoutMs: isInteger, maxRequestBytes: isInteger, sessionCacheSeconds: isInteger }).length === 0),
  webhooks: optional(isObject),
};

const TRUST: Record<string, Check> = {
  name: isString,
  issuer: isString,
  kind: oneOf(['user', 'ci']),
  algorithms: isNonEmptyArray,
  singleUse: isBoolean,
  clockToleranceSeconds: isInteger,
  rules: isNonEmptyArray,
};

function membersProblems(value: unknown, checks: Record<string, Check>, path = ''): string[] {
  if (!isObject(value)) return [`${path || '(root)'}: expected an object`];
  const record = value as Record<string, unknown>;
  return Object.entries(checks)
    .filter(([key, check]) => !check(record[key]))
    .map(([key]) => `${path ? `${path}.` : ''}${key}: missing or of the wrong type`);
}

function structuralProblems(document: unknown): string[] {
  const problems = membersProblems(document, TOP_LEVEL);
  if (problems.length > 0) return problems;
  const trust = (document as { trust: unknown[] }).trust;
  return trust.flatMap((entry, index) => membersProblems(entry, TRUST, `trust[${index}]`));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
