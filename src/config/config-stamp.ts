import { createHash } from 'node:crypto';

/**
 * The stamp `cdk synth` puts beside the config it validated, so a deployed
 * function can trust that config without loading the schema library, and
 * still refuse one that did not come from synth validation.
 *
 * Synth (`src/config/deploy-config.ts`) validates the document with the full schema,
 * serialises the validated values canonically (`canonicalJson`: keys sorted,
 * no whitespace) and stamps that text with the schema version and its
 * SHA-256 (`configStamp`). A function's init (`src/app/deployed-config.ts`)
 * hashes the text it received and compares (`checkConfigStamp`): an edited
 * environment variable fails the digest, a config stamped for another schema
 * version fails the version, and neither ever runs half-configured.
 *
 * Imported by `cdk/` and by the Lambda entry modules: Node's `crypto` only.
 */

/**
 * The version of the validated config's shape and meaning the functions read.
 * Bump it whenever a function would misread a config validated by the
 * previous schema (a key added without a default the code relies on, a key
 * renamed, a unit changed): functions then refuse configs stamped before.
 */
export const CONFIG_SCHEMA_VERSION = 1;

const STAMP = /^tollgate-config\/v(\d+)\/sha256:([A-Za-z0-9_-]{43})$/;

/** JSON with every object's keys sorted and no whitespace, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}

/** The SHA-256 of the text, base64url. */
function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** `tollgate-config/v<schema version>/sha256:<digest of the exact text>`. */
export function configStamp(configText: string, schemaVersion = CONFIG_SCHEMA_VERSION): string {
  return `tollgate-config/v${schemaVersion}/sha256:${digestOf(configText)}`;
}

/** Why a stamp does not vouch for a config text; undefined when it does. */
export type StampProblem =
  | { kind: 'missing' }
  | { kind: 'malformed' }
  | { kind: 'version'; stamped: number; expected: number }
  | { kind: 'digest' };

/** Checks that `stamp` was made for exactly `configText` by synth of this schema version. */
export function checkConfigStamp(configText: string, stamp: string | undefined, schemaVersion = CONFIG_SCHEMA_VERSION): StampProblem | undefined {
  if (!stamp) return { kind: 'missing' };
  const match = STAMP.exec(stamp);
  if (!match) return { kind: 'malformed' };
  const stamped = Number(match[1]);
  if (stamped !== schemaVersion) return { kind: 'version', stamped, expected: schemaVersion };
  if (match[2] !== digestOf(configText)) return { kind: 'digest' };
  return undefined;
}
