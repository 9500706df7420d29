import { appendFile, readFile } from 'node:fs/promises';
import { createTollgateClient } from '../client/tollgate-client';
import { isTollgateError, type TollgateError } from '../client/tollgate-error';
import { resolveRetryOptions } from '../client/retry-policy';
import type { StoredTokens, TokenStorage } from '../client/token-storage';
import {
  exchangeToken,
  introspectToken,
  normalizeBaseUrl,
  refreshTokens,
  revokeToken,
  type EndpointContext,
  type TokenSet,
} from '../client/token-endpoint';
import { CliError, ExitCodes, type ExitCode } from './cli-error';
import { helpText } from './cli-help';
import { isAdminCommand, isCommand, parseCommandLine, type CommandLine, type CommandName, type OutputFormat } from './cli-options';
import {
  readStateFile,
  removeStateFile,
  sessionDocument,
  SessionEnv,
  sessionFromEnv,
  sessionFromTokenSet,
  unverifiedExpiry,
  writeStateFile,
  type CliSession,
} from './cli-session';
import {
  assignmentLines,
  canRequestIdToken,
  checkTokenValue,
  exportLine,
  inGitHubActions,
  maskCommands,
  requestActionsIdToken,
} from './github-actions';

/** What the command needs from its process; tests and the bin entry supply it. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(chunk: string | Uint8Array): unknown };
  stderr: { write(chunk: string): unknown };
  readStdin(): Promise<Buffer>;
  fetch: typeof fetch;
  now(): number;
  /** Whether stdin is a terminal (admin confirmations); default: the process's own stdin. */
  stdinIsTTY?: boolean;
}

/** The audience the GitHub OIDC token is requested for unless `--audience` says otherwise. */
export const DEFAULT_AUDIENCE = 'tollgate';

/** Runs `tollgate <argv>` and returns its exit code; failures are one line on stderr. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  // The operators' commands load their modules (and the AWS SDK clients) only when run.
  if (isAdminCommand(argv[0]) || (argv[0] === 'help' && isAdminCommand(argv[1]))) {
    const { runAdmin } = await import('./admin/admin-cli');
    return runAdmin(argv[0] === 'help' ? [argv[1]!, '--help'] : argv, io);
  }
  const command: CommandName | undefined = isCommand(argv[0]) ? argv[0] : undefined;
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.kind === 'help') {
      io.stdout.write(helpText(invocation.command));
      return ExitCodes.ok;
    }
    return await COMMANDS[invocation.line.command](invocation.line, io);
  } catch (error) {
    const { exitCode, message } = explain(error);
    io.stderr.write(`tollgate${command ? ` ${command}` : ''}: ${message}\n`);
    return exitCode;
  }
}

const COMMANDS: Record<CommandName, (line: CommandLine, io: CliIo) => Promise<ExitCode>> = {
  async exchange(line, io) {
    const url = baseUrl(line.url ?? io.env[SessionEnv.url]);
    const subjectToken = (await givenSubjectToken(line, io)) ?? (await actionsSubjectToken(line, io));
    // expires_in counts from the server's answer; counting from before the request keeps our estimate at or before exp.
    const requestedAt = io.now();
    const set = await exchangeToken(endpoints(url, io), { subjectToken, scope: line.scope, clientId: line.clientId });
    await publish(io, sessionFromTokenSet(url, set, requestedAt), line.output ?? defaultOutput(io), line.stateFile, set);
    return ExitCodes.ok;
  },

  async refresh(line, io) {
    const session = await loadSession(line, io);
    const refreshToken =
      line.refreshToken ??
      (line.refreshTokenFile ? await readSecretFile(line.refreshTokenFile, io, 'refresh token') : undefined) ??
      session.refreshToken;
    if (!refreshToken) {
      throw new CliError(
        ExitCodes.credentials,
        `no refresh token: run \`tollgate exchange\` first, or give --state-file or --refresh-token-file (or set ${SessionEnv.refreshToken})`,
      );
    }
    const url = baseUrl(session.url);
    const requestedAt = io.now();
    const set = await refreshTokens(endpoints(url, io), { refreshToken, scope: line.scope, clientId: line.clientId });
    await publish(io, sessionFromTokenSet(url, set, requestedAt), line.output ?? defaultOutput(io), line.stateFile, set);
    return ExitCodes.ok;
  },

  async revoke(line, io) {
    const session = await loadSession(line, io);
    const given = line.token ?? (line.tokenFile ? await readSecretFile(line.tokenFile, io, 'token') : undefined);
    const token = given ?? session.refreshToken ?? session.accessToken;
    if (!token) {
      throw new CliError(ExitCodes.credentials, `nothing to revoke: give --token, --token-file or --state-file (or set ${SessionEnv.refreshToken})`);
    }
    await revokeToken(endpoints(baseUrl(session.url), io), token);
    if (!given) {
      if (line.stateFile) await removeStateFile(line.stateFile);
      else if (io.env.GITHUB_ENV) {
        // Later steps must not keep using a revoked session.
        await appendFile(io.env.GITHUB_ENV, assignmentLines({ [SessionEnv.accessToken]: '', [SessionEnv.refreshToken]: '', [SessionEnv.expiresAt]: '' }));
      }
    }
    io.stderr.write('revoked: the session behind this token, if it was active, has ended\n');
    return ExitCodes.ok;
  },

  async verify(line, io) {
    const session = await loadSession(line, io);
    const token = line.token ?? (line.tokenFile ? await readSecretFile(line.tokenFile, io, 'token') : undefined) ?? session.accessToken;
    if (!token) {
      throw new CliError(ExitCodes.credentials, `no token to verify: give --token, --token-file or --state-file (or set ${SessionEnv.accessToken})`);
    }
    const answer = await introspectToken(endpoints(baseUrl(session.url), io), token);
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    if (answer.active) return ExitCodes.ok;
    io.stderr.write('the token is not active\n');
    return ExitCodes.refused;
  },

  async curl(line, io) {
    const session = await loadSession(line, io);
    const url = baseUrl(session.url);
    let current: StoredTokens | undefined = session.accessToken
      ? {
          accessToken: session.accessToken,
          refreshToken: session.refreshToken,
          // Unknown: counts as long-lived, so the full refresh margin applies.
          obtainedAt: 0,
          expiresAt: (session.expiresAt ?? unverifiedExpiry(session.accessToken) ?? 0) * 1000,
        }
      : undefined;
    let renewed = false;
    const storage: TokenStorage = {
      load: () => current,
      save: async (tokens) => {
        current = tokens;
        if (!tokens) return;
        renewed = true;
        await persist(io, { url, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: Math.floor(tokens.expiresAt / 1000), scope: tokens.scope }, line.stateFile);
      },
    };
    const client = createTollgateClient({
      baseUrl: url,
      fetch: io.fetch,
      clock: { now: io.now },
      storage,
      getSubjectToken: async () => (await givenSubjectToken(line, io)) ?? (canRequestIdToken(io.env) ? actionsSubjectToken(line, io) : undefined),
    });
    const body = line.data.length > 0 ? await requestBody(line.data, io) : undefined;
    const headers = new Headers();
    for (const header of line.headers) {
      const colon = header.indexOf(':');
      headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
    }
    if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    const response = await client.fetch(line.path!, { method: line.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
    if (line.include) {
      let head = `HTTP/1.1 ${response.status} ${response.statusText}\r\n`;
      response.headers.forEach((value, name) => {
        head += `${name}: ${value}\r\n`;
      });
      io.stdout.write(`${head}\r\n`);
    }
    io.stdout.write(new Uint8Array(await response.arrayBuffer()));
    if (renewed && !line.stateFile && !io.env.GITHUB_ENV) {
      io.stderr.write(
        `tollgate curl: the session was renewed and its refresh token rotated; the one in ${SessionEnv.refreshToken} is spent. Use --state-file to keep the session between calls.\n`,
      );
    }
    return line.fail && response.status >= 400 ? ExitCodes.httpError : ExitCodes.ok;
  },
};

function baseUrl(url: string | undefined): string {
  if (!url) throw new CliError(ExitCodes.usage, `give --url <tollgate base url> (or set ${SessionEnv.url})`);
  try {
    return normalizeBaseUrl(url);
  } catch (error) {
    throw new CliError(ExitCodes.usage, `--url: ${(error as Error).message}`);
  }
}

function endpoints(url: string, io: CliIo): EndpointContext {
  return { baseUrl: url, fetch: io.fetch, clock: { now: io.now }, retry: resolveRetryOptions() };
}

function defaultOutput(io: CliIo): OutputFormat {
  return io.env.GITHUB_ENV ? 'env' : 'json';
}

/** The session of refresh/revoke/verify/curl: the state file if given, else the environment; `--url` wins. */
async function loadSession(line: CommandLine, io: CliIo): Promise<Partial<CliSession>> {
  const session = line.stateFile ? await readStateFile(line.stateFile) : sessionFromEnv(io.env);
  return { ...session, url: line.url ?? session.url ?? io.env[SessionEnv.url] };
}

/** A subject token the user gave, if any: flag, file, or `TOLLGATE_SUBJECT_TOKEN`. */
async function givenSubjectToken(line: CommandLine, io: CliIo): Promise<string | undefined> {
  if (line.subjectToken) return line.subjectToken;
  if (line.subjectTokenFile) return readSecretFile(line.subjectTokenFile, io, 'subject token');
  return io.env[SessionEnv.subjectToken] || undefined;
}

/** The job's OIDC token inside GitHub Actions; a clear refusal anywhere else. */
async function actionsSubjectToken(line: CommandLine, io: CliIo): Promise<string> {
  if (!inGitHubActions(io.env) && !canRequestIdToken(io.env)) {
    throw new CliError(
      ExitCodes.credentials,
      `not running in GitHub Actions and no subject token given: use --subject-token-file <path> (or --subject-token <jwt>, or set ${SessionEnv.subjectToken})`,
    );
  }
  return requestActionsIdToken(io.env, io.fetch, line.audience ?? DEFAULT_AUDIENCE);
}

async function readSecretFile(path: string, io: CliIo, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = path === '-' ? await io.readStdin() : await readFile(path);
  } catch (error) {
    throw new CliError(ExitCodes.credentials, `cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const value = bytes.toString('utf8').trim();
  if (!value) throw new CliError(ExitCodes.credentials, `the ${what} file ${path} is empty`);
  return value;
}

async function requestBody(data: readonly string[], io: CliIo): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Buffer[] = [];
  for (const item of data) {
    if (!item.startsWith('@')) parts.push(Buffer.from(item, 'utf8'));
    else if (item === '@-') parts.push(await io.readStdin());
    else {
      try {
        parts.push(await readFile(item.slice(1)));
      } catch (error) {
        throw new CliError(ExitCodes.usage, `-d ${item}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
  }
  const joined: Buffer[] = [];
  parts.forEach((part, index) => {
    if (index > 0) joined.push(Buffer.from('&'));
    joined.push(part);
  });
  return new Uint8Array(Buffer.concat(joined));
}

/**
 * Prints or writes a new session in the asked format. Tokens are checked to be
 * single-line token characters before any of them is written anywhere, and
 * inside GitHub Actions masked before they could appear in a log.
 */
async function publish(io: CliIo, session: CliSession, format: OutputFormat, stateFile: string | undefined, set: TokenSet): Promise<void> {
  const secrets = secretsOf(session);
  if (stateFile) await writeStateFile(stateFile, session);
  const actions = inGitHubActions(io.env);
  if (format === 'env') {
    if (io.env.GITHUB_ENV || io.env.GITHUB_OUTPUT) {
      io.stdout.write(maskCommands(secrets));
      await writeActionsFiles(io, session);
      io.stdout.write(
        `Tollgate session ready: scope "${session.scope ?? ''}", access token valid until ${new Date(session.expiresAt! * 1000).toISOString()}; ${SessionEnv.accessToken} is set for the next steps\n`,
      );
    } else {
      for (const [name, value] of Object.entries(sessionVariables(session))) io.stdout.write(exportLine(name, value));
    }
    return;
  }
  if (actions) io.stderr.write(maskCommands(secrets));
  io.stdout.write(format === 'json' ? `${JSON.stringify(sessionDocument(session, set), null, 2)}\n` : `${session.accessToken}\n`);
}

/** A renewal during `curl`: written back wherever the session lives, masked first, nothing on stdout. */
async function persist(io: CliIo, session: CliSession, stateFile: string | undefined): Promise<void> {
  const secrets = secretsOf(session);
  if (inGitHubActions(io.env)) io.stderr.write(maskCommands(secrets));
  if (stateFile) await writeStateFile(stateFile, session);
  if (io.env.GITHUB_ENV) await writeActionsFiles(io, session);
}

function secretsOf(session: CliSession): string[] {
  const secrets = [checkTokenValue('access token', session.accessToken!)];
  if (session.refreshToken) secrets.push(checkTokenValue('refresh token', session.refreshToken));
  return secrets;
}

function sessionVariables(session: CliSession): Record<string, string> {
  return {
    [SessionEnv.url]: session.url,
    [SessionEnv.accessToken]: session.accessToken!,
    [SessionEnv.refreshToken]: session.refreshToken ?? '',
    [SessionEnv.expiresAt]: String(session.expiresAt ?? ''),
  };
}

async function writeActionsFiles(io: CliIo, session: CliSession): Promise<void> {
  if (io.env.GITHUB_ENV) await appendFile(io.env.GITHUB_ENV, assignmentLines(sessionVariables(session)));
  if (io.env.GITHUB_OUTPUT) {
    await appendFile(
      io.env.GITHUB_OUTPUT,
      assignmentLines({ 'access-token': session.accessToken!, 'refresh-token': session.refreshToken ?? '', 'expires-at': String(session.expiresAt ?? '') }),
    );
  }
}

/** One line and an exit code for any failure; a Tollgate error keeps the server's code and description. */
function explain(error: unknown): { exitCode: ExitCode; message: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (isTollgateError(error)) return explainTollgate(error);
  return { exitCode: ExitCodes.refused, message: `unexpected failure: ${(error as Error)?.message ?? String(error)}` };
}

const UNAVAILABLE_CODES = new Set([
  'temporarily_unavailable',
  'server_error',
  'RATE_LIMITED',
  'STORE_UNAVAILABLE',
  'SIGNING_KEYS_UNAVAILABLE',
  'SECRETS_UNAVAILABLE',
  'ISSUER_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_RESPONSE_TOO_LARGE',
  'INTERNAL_ERROR',
]);

function explainTollgate(error: TollgateError): { exitCode: ExitCode; message: string } {
  const where = error.endpoint === 'proxy' ? 'the proxy' : `/${error.endpoint}`;
  const retry = error.retryAfterSeconds ? ` (retry after ${error.retryAfterSeconds} s)` : '';
  switch (error.code) {
    case 'NETWORK_ERROR':
      return { exitCode: ExitCodes.unavailable, message: `${error.description ?? 'cannot reach Tollgate'}: ${describeCause(error.cause)}` };
    case 'UNEXPECTED_RESPONSE':
      return {
        exitCode: ExitCodes.unavailable,
        message:
          error.status === 404 || error.status === 403
            ? `no Tollgate ${where} endpoint at that URL (HTTP ${error.status}): check --url`
            : `unexpected answer from ${where} (HTTP ${error.status}): ${error.description ?? ''}`,
      };
    case 'SUBJECT_TOKEN_UNAVAILABLE':
      return {
        exitCode: ExitCodes.credentials,
        message: `the session has to start over and there is no subject token: run in GitHub Actions with id-token: write, or give --subject-token-file (or set ${SessionEnv.subjectToken})`,
      };
    case 'INVALID_PATH':
      return { exitCode: ExitCodes.usage, message: `${error.description}` };
    default:
      if (UNAVAILABLE_CODES.has(error.code)) {
        return { exitCode: ExitCodes.unavailable, message: `Tollgate is unavailable at ${where}: ${error.code}: ${error.description ?? ''}${retry}` };
      }
      return { exitCode: ExitCodes.refused, message: `Tollgate refused at ${where}: ${error.code}: ${error.description ?? ''}` };
  }
}

function describeCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } } | null)?.cause;
  return inner?.code ?? inner?.message ?? (cause as Error | undefined)?.message ?? 'network error';
}
