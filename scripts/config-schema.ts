import * as z from 'zod';
import { configSchema } from '../src/config/config';

/** Where the example config (and anyone working in a checkout) finds the schema: `"$schema": "./config.schema.json"`. */
export const COMMITTED_SCHEMA_PATH = 'cdk/config.schema.json';

/**
 * The config file's JSON Schema (draft 2020-12), generated from the one zod
 * schema in src/config/config.ts, for editors to complete and check config
 * files. It describes the document as written (`io: 'input'`: keys with
 * defaults are optional). What JSON Schema cannot say — cross-field rules
 * such as unique trust names, and checks only a deployment makes — stays
 * with `loadConfig` and synth, which report every problem by path.
 */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  const document = {
    $schema,
    title: 'Tollgate config',
    description: 'The Tollgate config file (README "Config"). Validated in full by loadConfig, `tollgate config check` and cdk synth.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
