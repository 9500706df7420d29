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

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

/**
 * The config's TypeScript types without zod: `input` (the document as
 * written, what `TollgateServiceProps.config` takes) and `output` (after
 * defaults, what `loadConfig` returns), printed from the JSON Schemas zod
 * generates for each side. The published declarations use these (see
 * scripts/build.ts `types`), so a consumer type-checks `tollgate/cdk` without
 * zod installed.
 */
export function configTypeExpressions(): { input: string; output: string } {
  const print = (io: 'input' | 'output') => typeOf(z.toJSONSchema(configSchema, { io, unrepresentable: 'any' }) as JsonSchema, '');
  return { input: print('input'), output: print('output') };
}

function typeOf(schema: JsonSchema, indent: string): string {
  const inner = `${indent}  `;
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map((member) => typeOf(member, indent)).join(' | ');
  if (schema.allOf) return schema.allOf.map((member) => `(${typeOf(member, indent)})`).join(' & ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return types.map((type) => typeOf({ ...schema, type }, indent)).join(' | ');
  switch (types[0]) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      if (schema.prefixItems) return `[${schema.prefixItems.map((item) => typeOf(item, indent)).join(', ')}]`;
      return `(${schema.items ? typeOf(schema.items, indent) : 'unknown'})[]`;
    case 'object': {
      const required = new Set(schema.required ?? []);
      const members = Object.entries(schema.properties ?? {}).map(
        ([name, value]) => `${inner}${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name)}${required.has(name) ? '' : '?'}: ${typeOf(value, inner)};`,
      );
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') members.push(`${inner}[key: string]: ${typeOf(schema.additionalProperties, inner)};`);
      else if (schema.additionalProperties === true || (schema.additionalProperties === undefined && !schema.properties)) members.push(`${inner}[key: string]: unknown;`);
      return members.length === 0 ? '{}' : `{\n${members.join('\n')}\n${indent}}`;
    }
    default:
      return 'unknown';
  }
}
