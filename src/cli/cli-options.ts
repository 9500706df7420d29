import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, ExitCodes } from './cli-error';

export const COMMANDS = ['exchange', 'refresh', 'revoke', 'verify', 'curl'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** The operators' command groups (`src/cli/admin/`), loaded only when one is run. */
export const ADMIN_COMMANDS = ['sessions', 'keys', 'config'] as const;

export function isAdminCommand(value: string | undefined): value is (typeof ADMIN_COMMANDS)[number] {
  return value !== undefined && (ADMIN_COMMANDS as readonly string[]).includes(value);
}

export const OUTPUTS = ['env', 'json', 'token'] as const;
export type OutputFormat = (typeof OUTPUTS)[number];

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

const URL_OPTION: OptionSpec = { url: { type: 'string' } };
const HELP_OPTION: OptionSpec = { help: { type: 'boolean', short: 'h' } };
const STATE_OPTION: OptionSpec = { 'state-file': { type: 'string' } };

const SPECS: Record<CommandName, OptionSpec> = {
  exchange: {
    ...URL_OPTION,
    ...HELP_OPTION,
    ...STATE_OPTION,
    audience: { type: 'string' },
    scope: { type: 'string' },
    output: { type: 'string' },
    'subject-token': { type: 'string' },
    'subject-token-file': { type: 'string' },
    'client-id': { type: 'string' },
  },
  refresh: {
    ...URL_OPTION,
    ...HELP_OPTION,
    ...STATE_OPTION,
    scope: { type: 'string' },
    output: { type: 'string' },
    'refresh-token': { type: 'string' },
    'refresh-token-file': { type: 'string' },
    'client-id': { type: 'string' },
  },
  revoke: { ...URL_OPTION, ...HELP_OPTION, ...STATE_OPTION, token: { type: 'string' }, 'token-file': { type: 'string' } },
  verify: { ...URL_OPTION, ...HELP_OPTION, ...STATE_OPTION, token: { type: 'string' }, 'token-file': { type: 'string' } },
  curl: {
    ...URL_OPTION,
    ...HELP_OPTION,
    ...STATE_OPTION,
    request: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    data: { type: 'string', short: 'd', multiple: true },
    include: { type: 'boolean', short: 'i' },
    fail: { type: 'boolean', short: 'f' },
    audience: { type: 'string' },
    'subject-token-file': { type: 'string' },
  },
};

/** The parsed options of one command; every value as the user typed it. */
export interface CommandLine {
  command: CommandName;
  help: boolean;
  url?: string;
  stateFile?: string;
  audience?: string;
  scope?: string;
  output?: OutputFormat;
  subjectToken?: string;
  subjectTokenFile?: string;
  refreshToken?: string;
  refreshTokenFile?: string;
  token?: string;
  tokenFile?: string;
  clientId?: string;
  /** `curl` only. */
  path?: string;
  method?: string;
  headers: string[];
  data: string[];
  include: boolean;
  fail: boolean;
}

/** What the command line asks for: one command, top-level help, or the version. */
export type Invocation = { kind: 'help'; command?: CommandName } | { kind: 'run'; line: CommandLine };

/**
 * Parses `tollgate <command> [options]` strictly: unknown options, missing
 * values and stray arguments are usage errors (exit 2), never guesses.
 */
export function isCommand(value: string | undefined): value is CommandName {
  return value !== undefined && (COMMANDS as readonly string[]).includes(value);
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !isCommand(topic)) throw new CliError(ExitCodes.usage, `unknown command ${JSON.stringify(topic)}; commands: ${COMMANDS.join(', ')}`);
    return { kind: 'help', command: topic };
  }
  if (!isCommand(first)) throw new CliError(ExitCodes.usage, `unknown command ${JSON.stringify(first)}; commands: ${COMMANDS.join(', ')}`);

  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: SPECS[first], strict: true, allowPositionals: first === 'curl' }) as typeof parsed;
  } catch (error) {
    throw new CliError(ExitCodes.usage, `${(error as Error).message.split('\n')[0]} (see tollgate ${first} --help)`);
  }
  const values = parsed.values;
  const text = (name: string) => {
    const value = values[name];
    if (value === '') throw new CliError(ExitCodes.usage, `--${name} needs a value`);
    return typeof value === 'string' ? value : undefined;
  };
  const list = (name: string) => (Array.isArray(values[name]) ? (values[name] as string[]) : []);

  const output = text('output');
  if (output !== undefined && !(OUTPUTS as readonly string[]).includes(output)) {
    throw new CliError(ExitCodes.usage, `--output must be one of ${OUTPUTS.join(', ')}`);
  }
  const line: CommandLine = {
    command: first,
    help: values.help === true,
    url: text('url'),
    stateFile: text('state-file'),
    audience: text('audience'),
    scope: text('scope'),
    output: output as OutputFormat | undefined,
    subjectToken: text('subject-token'),
    subjectTokenFile: text('subject-token-file'),
    refreshToken: text('refresh-token'),
    refreshTokenFile: text('refresh-token-file'),
    token: text('token'),
    tokenFile: text('token-file'),
    clientId: text('client-id'),
    method: text('request')?.toUpperCase(),
    headers: list('header'),
    data: list('data'),
    include: values.include === true,
    fail: values.fail === true,
  };
  if (line.help) return { kind: 'help', command: first };

  const exclusive = (a: keyof CommandLine, b: keyof CommandLine, names: string) => {
    if (line[a] !== undefined && line[b] !== undefined) throw new CliError(ExitCodes.usage, `give only one of ${names}`);
  };
  exclusive('subjectToken', 'subjectTokenFile', '--subject-token and --subject-token-file');
  exclusive('refreshToken', 'refreshTokenFile', '--refresh-token and --refresh-token-file');
  exclusive('token', 'tokenFile', '--token and --token-file');

  if (first === 'curl') {
    if (parsed.positionals.length !== 1) throw new CliError(ExitCodes.usage, 'give exactly one path, e.g. tollgate curl /orders');
    line.path = parsed.positionals[0];
    if (line.method !== undefined && !/^[A-Z]{1,16}$/.test(line.method)) throw new CliError(ExitCodes.usage, '-X needs an HTTP method');
    for (const header of line.headers) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(header)) throw new CliError(ExitCodes.usage, `-H needs "Name: value", got ${JSON.stringify(header.slice(0, 40))}`);
    }
  }
  return { kind: 'run', line };
}
