import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config';
import { COMMITTED_SCHEMA_PATH, configJsonSchema } from '../../scripts/config-schema';

const ROOT = join(__dirname, '..', '..');

describe('the config JSON Schema', () => {
  it('is committed as generated from the zod schema (npm run build -- schema rewrites it)', () => {
    expect(readFileSync(join(ROOT, COMMITTED_SCHEMA_PATH), 'utf8')).toBe(configJsonSchema());
  });

  it('describes the document as written: every top-level key of the schema, only trust required, nothing else allowed', () => {
    const schema = JSON.parse(configJsonSchema()) as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(['trust']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['$schema', 'issuer', 'audience', 'trust', 'proxy', 'webhooks', 'aws']));
  });

  it('is named by the example config, which loadConfig accepts with its "$schema" key', () => {
    const text = readFileSync(join(ROOT, 'cdk', 'example.config.json'), 'utf8');
    expect((JSON.parse(text) as { $schema: string }).$schema).toBe('./config.schema.json');
    expect(() => parseConfig(text, 'example.config.json')).not.toThrow();
  });
});
