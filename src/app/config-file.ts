import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig, type TollgateConfig } from '../config/config';
import { EnvNames } from '../contract/env-names';
import type { Env } from './runtime';

/**
 * The config of a process that validates it itself, with the full schema
 * (`parseConfig`, every problem by path): the local server, the benchmark,
 * the CLI. `TOLLGATE_CONFIG_JSON` (the document as JSON) wins over the file
 * named by `TOLLGATE_CONFIG`. Deployed functions never come here: synth
 * validated their config and they read it with `configFromStamp`.
 */
export function configFromEnvironment(env: Env): TollgateConfig {
  const inline = env[EnvNames.configJson];
  if (inline) return parseConfig(inline, EnvNames.configJson);
  const file = env[EnvNames.configFile];
  if (!file) throw new ConfigError([`${EnvNames.configFile} or ${EnvNames.configJson} must be set`]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read (${(error as Error).message})`]);
  }
  return parseConfig(text, file);
}
