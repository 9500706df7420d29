import { CliError, ExitCodes } from './cli-error';

type Env = Readonly<Record<string, string | undefined>>;

/** True inside a GitHub Actions job (the runner sets `GITHUB_ACTIONS=true`). */
export function inGitHubActions(env: Env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** True when the job's OIDC token can be requested (the job has `permissions: id-token: write`). */
export function canRequestIdToken(env: Env): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
}

/** Longest OIDC token we accept from the runner (Tollgate refuses subject tokens over 16 KB anyway). */
const MAX_ID_TOKEN_BYTES = 16 * 1024;

/**
 * Requests the job's OIDC token for `audience`, as `core.getIDToken` does:
 * GET `ACTIONS_ID_TOKEN_REQUEST_URL` with `&audience=`, bearer
 * `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the answer is `{"value": "<jwt>"}`.
 */
export async function requestActionsIdToken(env: Env, fetchImpl: typeof fetch, audience: string): Promise<string> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new CliError(
      ExitCodes.credentials,
      'this job cannot request an OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; give the job `permissions: id-token: write`',
    );
  }
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new CliError(ExitCodes.credentials, 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json; api-version=2.0' } });
  } catch (error) {
    throw new CliError(ExitCodes.unavailable, `cannot reach the GitHub Actions OIDC endpoint (${url.origin}): ${describe(error)}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const code = response.status === 401 || response.status === 403 ? ExitCodes.credentials : ExitCodes.unavailable;
    throw new CliError(code, `the GitHub Actions OIDC endpoint refused the token request (HTTP ${response.status})`);
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '' || value.length > MAX_ID_TOKEN_BYTES || !TOKEN_CHARACTERS.test(value)) {
    throw new CliError(ExitCodes.unavailable, 'the GitHub Actions OIDC endpoint answered without a token');
  }
  return value;
}

/**
 * What a token may contain before it is written into a workflow command or
 * `GITHUB_ENV`: JWT and Tollgate refresh-token characters only. A value with a
 * newline would let whoever answered add lines to `GITHUB_ENV` (another
 * variable, `NODE_OPTIONS`, …) for every later step, so it is refused.
 */
export const TOKEN_CHARACTERS = /^[A-Za-z0-9._~+/=-]+$/;

export function checkTokenValue(name: string, value: string): string {
  if (!TOKEN_CHARACTERS.test(value)) throw new CliError(ExitCodes.unavailable, `Tollgate answered a ${name} with unexpected characters; nothing was written`);
  return value;
}

/** `::add-mask::` workflow commands, one per value, so the runner hides them in every later log line. */
export function maskCommands(values: readonly string[]): string {
  return values.map((value) => `::add-mask::${value}\n`).join('');
}

/**
 * `NAME=value` lines for `GITHUB_ENV` / `GITHUB_OUTPUT`. Names and values are
 * checked to be single-line, so nothing can smuggle in another assignment.
 */
export function assignmentLines(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) || /[\r\n]/.test(value)) throw new Error(`refusing to write ${name}: not a single-line value`);
      return `${name}=${value}\n`;
    })
    .join('');
}

/** A POSIX shell `export` line with the value single-quoted. */
export function exportLine(name: string, value: string): string {
  return `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
