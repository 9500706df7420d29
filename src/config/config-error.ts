/**
 * The config's error type and path format, without the schema: the Lambda
 * functions report a config that did not pass synth validation with these,
 * and must not load the schema library to do so.
 */

/** Thrown by `loadConfig` (and the deployed functions' stamp check) with every problem, one per line. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid Tollgate config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `['trust', 0, 'rules', 1, 'scopes']` → `trust[0].rules[1].scopes` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}
