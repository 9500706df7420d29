import { isSafeUrl, SCOPE_TOKEN } from './config-rules';
import { AuthorizerEnvNames } from '../contract/env-names';
import { canonicalJson, checkConfigStamp, configStamp } from './config-stamp';

/**
 * The `TollgateAuthorizer` function's settings, as the construct passes them
 * to the function: validated once at synth (`authorizerEnvironment`, which
 * throws on any problem), stamped like Tollgate's own config, and read back at
 * the function's init (`authorizerConfigFromEnvironment`), which refuses
 * settings the stamp does not vouch for. No schema library: the checks are
 * small enough to write out, and the function's init runs them again.
 */
export interface AuthorizerConfig {
  /** Tollgate's issuer URL (exactly the `iss` of its tokens). */
  issuer: string;
  audience: string;
  jwksUri?: string;
  /** Where the token is read, in order (`TokenSource` in `src/authorizer/authorizer.ts`). */
  tokenSources: ({ type: 'header'; name: string } | { type: 'protocol'; marker: string } | { type: 'query'; name: string })[];
  /** Scopes required per route key (`"*"`: every route). */
  routeScopes: Record<string, string[]>;
  /** Seconds to cache `/verify` answers; absent: offline verification only. */
  introspectCacheSeconds?: number;
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Every problem of the settings, by member; empty when they are valid. */
export function authorizerConfigProblems(config: AuthorizerConfig): string[] {
  const problems: string[] = [];
  if (typeof config.issuer !== 'string' || !isSafeUrl(config.issuer)) problems.push('issuer: expected an https:// URL (http:// only for loopback hosts)');
  if (typeof config.audience !== 'string' || config.audience.length === 0) problems.push('audience: expected a non-empty string');
  if (config.jwksUri !== undefined && (typeof config.jwksUri !== 'string' || !isSafeUrl(config.jwksUri))) problems.push('jwksUri: expected an https:// URL (http:// only for loopback hosts)');
  if (!Array.isArray(config.tokenSources) || config.tokenSources.length === 0) {
    problems.push('tokenSources: must name at least one source');
  } else {
    config.tokenSources.forEach((source, index) => {
      const ok =
        (source?.type === 'header' && typeof source.name === 'string' && HEADER_NAME.test(source.name)) ||
        (source?.type === 'protocol' && typeof source.marker === 'string' && HEADER_NAME.test(source.marker)) ||
        (source?.type === 'query' && typeof source.name === 'string' && source.name.length > 0);
      if (!ok) problems.push(`tokenSources[${index}]: expected {type: 'header', name}, {type: 'protocol', marker} or {type: 'query', name}`);
    });
  }
  if (typeof config.routeScopes !== 'object' || config.routeScopes === null || Array.isArray(config.routeScopes)) {
    problems.push('routeScopes: expected an object of route key → scopes');
  } else {
    for (const [route, scopes] of Object.entries(config.routeScopes)) {
      if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
        problems.push(`routeScopes.${route}: expected a list of RFC 6749 scope tokens`);
      }
    }
  }
  const seconds = config.introspectCacheSeconds;
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600)) problems.push('introspectCacheSeconds: expected a whole number of seconds from 0 to 3600');
  return problems;
}

/** The canonical form the stamp covers: the settings as the function reads them back. */
function canonical(config: AuthorizerConfig): string {
  return canonicalJson(config);
}

/**
 * The function's environment for validated settings (synth): the settings'
 * variables and the stamp. Throws an `Error` listing every problem.
 */
export function authorizerEnvironment(config: AuthorizerConfig): Record<string, string> {
  const problems = authorizerConfigProblems(config);
  if (problems.length > 0) throw new Error(`TollgateAuthorizer: invalid settings:\n  ${problems.join('\n  ')}`);
  const environment: Record<string, string> = {
    [AuthorizerEnvNames.issuer]: config.issuer,
    [AuthorizerEnvNames.audience]: config.audience,
    [AuthorizerEnvNames.tokenSources]: JSON.stringify(config.tokenSources),
    [AuthorizerEnvNames.routeScopes]: JSON.stringify(config.routeScopes),
  };
  if (config.jwksUri) environment[AuthorizerEnvNames.jwksUri] = config.jwksUri;
  if (config.introspectCacheSeconds !== undefined) environment[AuthorizerEnvNames.introspectCacheSeconds] = String(config.introspectCacheSeconds);
  environment[AuthorizerEnvNames.configStamp] = configStamp(canonical(config));
  return environment;
}

/**
 * The settings synth validated, read back from the function's environment.
 * Throws an `Error` naming what is wrong when the stamp is missing or does not
 * match (a variable edited after synth), or a value does not parse.
 */
export function authorizerConfigFromEnvironment(env: Record<string, string | undefined>): AuthorizerConfig {
  const json = (name: string): unknown => {
    try {
      return JSON.parse(env[name] ?? '');
    } catch {
      throw new Error(`${name}: not valid JSON; deploy the authorizer with its construct instead of editing the function`);
    }
  };
  const seconds = env[AuthorizerEnvNames.introspectCacheSeconds];
  const config = {
    issuer: env[AuthorizerEnvNames.issuer],
    audience: env[AuthorizerEnvNames.audience],
    jwksUri: env[AuthorizerEnvNames.jwksUri] || undefined,
    tokenSources: json(AuthorizerEnvNames.tokenSources),
    routeScopes: json(AuthorizerEnvNames.routeScopes),
    introspectCacheSeconds: seconds === undefined || seconds === '' ? undefined : Number(seconds),
  } as AuthorizerConfig;
  const problem = checkConfigStamp(canonical(config), env[AuthorizerEnvNames.configStamp]);
  if (problem) {
    const why = problem.kind === 'missing' ? `${AuthorizerEnvNames.configStamp} is not set` : problem.kind === 'version' ? `stamped for settings v${problem.stamped}, this function reads v${problem.expected}` : 'the settings were changed after synth validated them';
    throw new Error(`TollgateAuthorizer: ${why}; deploy the authorizer with its construct (cdk deploy), which validates and stamps its settings`);
  }
  const problems = authorizerConfigProblems(config);
  if (problems.length > 0) throw new Error(`TollgateAuthorizer: invalid settings:\n  ${problems.join('\n  ')}`);
  return config;
}
