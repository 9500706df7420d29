import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GH_FILTER_FIELDS, type GhFilterField, type SessionFilter } from '../../domain/session-filter';
import { CliError, ExitCodes } from '../cli-error';

/** The admin command groups: `tollgate sessions|keys|config <action>`. */
export const ADMIN_GROUPS = {
  sessions: ['list', 'show', 'revoke'],
  keys: ['list', 'rotate'],
  config: ['check', 'explain'],
} as const;
export type AdminGroup = keyof typeof ADMIN_GROUPS;
export type AdminAction = { [G in AdminGroup]: `${G} ${(typeof ADMIN_GROUPS)[G][number]}` }[AdminGroup];

export function isAdminGroup(value: string | undefined): value is AdminGroup {
  return value !== undefined && Object.prototype.hasOwnProperty.call(ADMIN_GROUPS, value);
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

const TARGET: OptionSpec = {
  stack: { type: 'string' },
  outputs: { type: 'string' },
  endpoint: { type: 'string' },
  'sessions-table': { type: 'string' },
};
const HELP: OptionSpec = { help: { type: 'boolean', short: 'h' } };
const FILTERS: OptionSpec = {
  sub: { type: 'string' },
  trust: { type: 'string' },
  kind: { type: 'string' },
  'client-id': { type: 'string' },
  'upstream-sid': { type: 'string' },
  repository: { type: 'string' },
  gh: { type: 'string', multiple: true },
  'created-after': { type: 'string' },
  'created-before': { type: 'string' },
  active: { type: 'boolean' },
  ended: { type: 'boolean' },
};

const SPECS: Record<AdminAction, OptionSpec> = {
  'sessions list': { ...HELP, ...TARGET, ...FILTERS, json: { type: 'boolean' } },
  'sessions show': { ...HELP, ...TARGET, json: { type: 'boolean' }, sid: { type: 'string', multiple: true } },
  'sessions revoke': {
    ...HELP,
    ...TARGET,
    ...FILTERS,
    json: { type: 'boolean' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
    all: { type: 'boolean' },
    sid: { type: 'string', multiple: true },
  },
  'keys list': { ...HELP, ...TARGET, json: { type: 'boolean' }, 'keys-file': { type: 'string' }, config: { type: 'string' } },
  'keys rotate': { ...HELP, ...TARGET, json: { type: 'boolean' }, 'keys-file': { type: 'string' }, config: { type: 'string' }, wait: { type: 'string' } },
  'config check': { ...HELP, json: { type: 'boolean' }, local: { type: 'boolean' } },
  'config explain': { ...HELP, json: { type: 'boolean' }, token: { type: 'string' } },
};

const POSITIONALS: Record<AdminAction, { min: number; max: number; usage: string }> = {
  'sessions list': { min: 0, max: 0, usage: 'tollgate sessions list [filters]' },
  'sessions show': { min: 1, max: 1, usage: 'tollgate sessions show <sid>' },
  'sessions revoke': { min: 0, max: Infinity, usage: 'tollgate sessions revoke [<sid>...] [filters] --reason "<why>"' },
  'keys list': { min: 0, max: 0, usage: 'tollgate keys list' },
  'keys rotate': { min: 0, max: 0, usage: 'tollgate keys rotate' },
  'config check': { min: 1, max: 1, usage: 'tollgate config check <file>' },
  'config explain': { min: 1, max: 1, usage: 'tollgate config explain <file> --token <jwt or file>' },
};

/** Where the admin commands find Tollgate's state. */
export interface TargetOptions {
  /** A deployed stack's name (its CloudFormation outputs name the table and secret). */
  stack?: string;
  /** A `cdk deploy --outputs-file` document instead of asking CloudFormation. */
  outputs?: string;
  /** A local DynamoDB-protocol endpoint (`npm start`'s store); else `DYNAMODB_ENDPOINT`. */
  endpoint?: string;
  sessionsTable?: string;
  keysFile?: string;
}

export interface AdminLine {
  action: AdminAction;
  positionals: string[];
  target: TargetOptions;
  filter: SessionFilter;
  /** True when any filter option was given. */
  filtered: boolean;
  json: boolean;
  reason?: string;
  dryRun: boolean;
  yes: boolean;
  all: boolean;
  token?: string;
  localConfig: boolean;
  config?: string;
  waitSeconds?: number;
}

export type AdminInvocation = { kind: 'help'; group: AdminGroup; action?: AdminAction } | { kind: 'run'; line: AdminLine };

/** Longest `--reason` kept on a session. */
export const MAX_REASON_LENGTH = 500;

/**
 * Parses `tollgate <group> <action> [options]` strictly, as the CI commands
 * are parsed: unknown options, missing values, bad filters and stray
 * arguments are usage errors (exit 2). `nowSeconds` anchors relative times
 * (`--created-after 2h`).
 */
export function parseAdminLine(argv: readonly string[], nowSeconds: number): AdminInvocation {
  const [group, verb, ...rest] = argv;
  if (!isAdminGroup(group)) throw new CliError(ExitCodes.usage, `unknown command ${JSON.stringify(group)}`);
  const verbs = ADMIN_GROUPS[group] as readonly string[];
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') return { kind: 'help', group };
  if (!verbs.includes(verb)) throw new CliError(ExitCodes.usage, `unknown command "${group} ${verb}"; ${group} commands: ${verbs.join(', ')}`);
  const action = `${group} ${verb}` as AdminAction;

  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: SPECS[action], strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    throw new CliError(ExitCodes.usage, `${(error as Error).message.split('\n')[0]} (see tollgate ${action} --help)`);
  }
  const values = parsed.values;
  if (values.help === true) return { kind: 'help', group, action };

  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === '') throw new CliError(ExitCodes.usage, `--${name} needs a value`);
    return typeof value === 'string' ? value : undefined;
  };
  // A sid may start with "-" (base64url): `--sid <sid>` (or `-- <sid>`) passes one that would read as an option.
  parsed.positionals.push(...((values.sid as string[] | undefined) ?? []));
  const expected = POSITIONALS[action];
  if (parsed.positionals.length < expected.min || parsed.positionals.length > expected.max) {
    throw new CliError(ExitCodes.usage, `usage: ${expected.usage}`);
  }

  const { filter, filtered } = 'sub' in SPECS[action] ? parseFilter(values, text, nowSeconds) : { filter: { gh: {} }, filtered: false };
  const line: AdminLine = {
    action,
    positionals: parsed.positionals,
    target: { stack: text('stack'), outputs: text('outputs'), endpoint: text('endpoint'), sessionsTable: text('sessions-table'), keysFile: text('keys-file') },
    filter,
    filtered,
    json: values.json === true,
    reason: text('reason'),
    dryRun: values['dry-run'] === true,
    yes: values.yes === true,
    all: values.all === true,
    token: text('token'),
    localConfig: values.local === true,
    config: text('config'),
    waitSeconds: parseWait(text('wait')),
  };
  if (line.target.stack !== undefined && line.target.outputs !== undefined) throw new CliError(ExitCodes.usage, 'give only one of --stack and --outputs');
  if ((line.target.stack !== undefined || line.target.outputs !== undefined) && line.target.endpoint !== undefined) {
    throw new CliError(ExitCodes.usage, '--endpoint is for a local store; a deployed stack is found with --stack or --outputs');
  }
  if (action === 'sessions revoke') checkRevoke(line);
  if (action === 'sessions show' && !/^[A-Za-z0-9_-]{1,128}$/.test(line.positionals[0]!)) {
    throw new CliError(ExitCodes.usage, 'a sid is letters, digits, - and _ (as access tokens carry it in "sid")');
  }
  if (action === 'config explain' && line.token === undefined) throw new CliError(ExitCodes.usage, 'give --token <jwt or file> (- reads it from stdin)');
  return { kind: 'run', line };
}

function checkRevoke(line: AdminLine): void {
  if (line.reason === undefined) throw new CliError(ExitCodes.usage, 'give --reason "<why>": it is recorded on every session this ends');
  if (line.reason.length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f]/.test(line.reason)) {
    throw new CliError(ExitCodes.usage, `--reason must be one line of at most ${MAX_REASON_LENGTH} characters`);
  }
  const sids = line.positionals;
  if (sids.length > 0 && line.filtered) throw new CliError(ExitCodes.usage, 'give either sids or filters, not both');
  if (sids.length === 0 && !line.filtered && !line.all) {
    throw new CliError(ExitCodes.usage, 'give the sessions to end: sids, filters (see --help), or --all for every active session');
  }
  if (line.all && (sids.length > 0 || line.filtered)) throw new CliError(ExitCodes.usage, '--all takes no sid and no filter');
  if (line.filter.state === 'ended') throw new CliError(ExitCodes.usage, '--ended: revoke ends active sessions only');
  for (const sid of sids) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(sid)) throw new CliError(ExitCodes.usage, `not a sid: ${JSON.stringify(sid.slice(0, 40))}`);
  }
}

function parseWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) > 900) throw new CliError(ExitCodes.usage, '--wait takes whole seconds, at most 900');
  return Number(value);
}

function parseFilter(
  values: Record<string, string | boolean | string[] | undefined>,
  text: (name: string) => string | undefined,
  nowSeconds: number,
): { filter: SessionFilter; filtered: boolean } {
  const gh: Partial<Record<GhFilterField, string>> = {};
  const repository = text('repository');
  if (repository !== undefined) gh.repository = repository;
  for (const item of (values.gh as string[] | undefined) ?? []) {
    const eq = item.indexOf('=');
    const field = eq > 0 ? item.slice(0, eq) : '';
    if (!(GH_FILTER_FIELDS as readonly string[]).includes(field) || eq === item.length - 1) {
      throw new CliError(ExitCodes.usage, `--gh takes <field>=<value>, the field one of ${GH_FILTER_FIELDS.join(', ')}`);
    }
    if (gh[field as GhFilterField] !== undefined) throw new CliError(ExitCodes.usage, `--gh ${field} given twice (or with --repository)`);
    gh[field as GhFilterField] = item.slice(eq + 1);
  }
  const kind = text('kind');
  if (kind !== undefined && kind !== 'user' && kind !== 'ci') throw new CliError(ExitCodes.usage, '--kind must be user or ci');
  if (values.active === true && values.ended === true) throw new CliError(ExitCodes.usage, 'give only one of --active and --ended');
  const filter: SessionFilter = {
    sub: text('sub'),
    trust: text('trust'),
    kind,
    clientId: text('client-id'),
    upstreamSid: text('upstream-sid'),
    gh,
    createdAfter: parseTime('--created-after', text('created-after'), nowSeconds),
    createdBefore: parseTime('--created-before', text('created-before'), nowSeconds),
    state: values.active === true ? 'active' : values.ended === true ? 'ended' : undefined,
  };
  if (filter.createdAfter !== undefined && filter.createdBefore !== undefined && filter.createdAfter >= filter.createdBefore) {
    throw new CliError(ExitCodes.usage, '--created-after must be before --created-before');
  }
  const filtered = Object.entries(filter).some(([name, value]) => (name === 'gh' ? Object.keys(gh).length > 0 : value !== undefined));
  return { filter, filtered };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/**
 * A point in time, as epoch seconds: ISO 8601 (`2026-12-06`,
 * `2026-12-06T14:00:00Z`; a time without a zone is refused, not guessed),
 * epoch seconds, or a duration ago (`90s`, `15m`, `2h`, `7d`).
 */
export function parseTime(option: string, value: string | undefined, nowSeconds: number): number | undefined {
  if (value === undefined) return undefined;
  const relative = /^(\d{1,9})([smhd])$/.exec(value);
  if (relative) return nowSeconds - Number(relative[1]) * UNIT_SECONDS[relative[2]!]!;
  if (/^\d{9,11}$/.test(value)) return Number(value);
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(value);
  const ms = iso ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new CliError(ExitCodes.usage, `${option}: expected an ISO 8601 time with its zone (2026-12-06T14:00:00Z), a date, epoch seconds, or a duration ago (15m, 2h, 7d)`);
  }
  return Math.floor(ms / 1000);
}
