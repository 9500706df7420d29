import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchangeToken, normalizeBaseUrl, revokeToken, type TokenSet } from '../client/token-endpoint';
import { isTollgateError, type TollgateError } from '../client/tollgate-error';
import { resolveRetryOptions, retryDelay } from '../client/retry-policy';
import { CliError, ExitCodes } from '../cli/cli-error';
import { SessionEnv, sessionFromTokenSet, writeStateFile, type CliSession } from '../cli/cli-session';
import { checkTokenValue, requestActionsIdToken } from '../cli/github-actions';
import { DEFAULT_AUDIENCE } from '../cli/run-cli';

/**
 * What the action needs from the runner: the `@actions/core` functions it
 * uses (src/action/main.ts passes the real ones; they write the
 * `GITHUB_OUTPUT`, `GITHUB_ENV` and `GITHUB_STATE` files and the workflow
 * commands), plus the process's environment, fetch, clock and sleep.
 */
export interface ActionRuntime {
  getInput(name: string): string;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  saveState(name: string, value: string): void;
  getState(name: string): string;
  info(message: string): void;
  warning(message: string): void;
  startGroup(name: string): void;
  endGroup(): void;
  setFailed(message: string): void;
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof fetch;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The action's inputs, parsed (action.yml documents each). */
export interface ActionInputs {
  url: string;
  audience: string;
  scope?: string;
  exportEnv: boolean;
  revoke: boolean;
  attempts: number;
  attemptTimeoutMs: number;
}

/** The state the main step leaves for the post step (`GITHUB_STATE`, read back with `getState`). */
const STATE = { isPost: 'isPost', session: 'session' } as const;

/** Claims of the runner's OIDC token worth showing when Tollgate refuses it: what trust rules match on, nothing secret. */
export const SHOWN_CLAIMS = [
  'iss',
  'aud',
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'ref_type',
  'environment',
  'workflow_ref',
  'job_workflow_ref',
  'event_name',
  'runner_environment',
] as const;

/** Runs the step the runner started: the main step, or the post step once the main step has run. */
export async function runAction(runtime: ActionRuntime): Promise<void> {
  if (runtime.getState(STATE.isPost) === 'true') return runPost(runtime);
  runtime.saveState(STATE.isPost, 'true');
  try {
    await runMain(runtime, parseInputs(runtime));
  } catch (error) {
    runtime.setFailed(messageOf(error));
  }
}

export function parseInputs(runtime: Pick<ActionRuntime, 'getInput'>): ActionInputs {
  const url = runtime.getInput('url').trim();
  if (!url) throw new CliError(ExitCodes.usage, 'the url input is required: the base URL of your Tollgate (its ApiUrl output)');
  let normalized: string;
  try {
    normalized = normalizeBaseUrl(url);
  } catch (error) {
    throw new CliError(ExitCodes.usage, `url: ${(error as Error).message}`);
  }
  return {
    url: normalized,
    audience: runtime.getInput('audience').trim() || DEFAULT_AUDIENCE,
    scope: runtime.getInput('scope').trim() || undefined,
    exportEnv: booleanInput(runtime, 'export-env', true),
    revoke: booleanInput(runtime, 'revoke', true),
    attempts: integerInput(runtime, 'attempts', 4, 1, 10),
    attemptTimeoutMs: integerInput(runtime, 'attempt-timeout-seconds', 10, 1, 120) * 1000,
  };
}

/**
 * The main step: exchange the job's OIDC token for a Tollgate session, mask
 * both tokens before anything is written, then publish the outputs (and,
 * with `export-env`, the `TOLLGATE_*` variables the `tollgate` CLI reads), a
 * state file for `tollgate refresh --state-file`, and what the post step
 * needs to revoke the session.
 */
export async function runMain(runtime: ActionRuntime, inputs: ActionInputs): Promise<CliSession> {
  const requestedAt = runtime.now();
  const set = await exchangeWithRetries(runtime, inputs);
  const session = sessionFromTokenSet(inputs.url, set, requestedAt);
  // Masked before they are written anywhere (outputs, environment, state, logs).
  const accessToken = checkTokenValue('access token', set.access_token);
  runtime.setSecret(accessToken);
  const refreshToken = set.refresh_token ? checkTokenValue('refresh token', set.refresh_token) : '';
  if (refreshToken) runtime.setSecret(refreshToken);

  const sessionId = sessionIdOf(accessToken);
  const stateFile = join(runtime.env.RUNNER_TEMP || tmpdir(), `tollgate-session-${randomBytes(8).toString('hex')}.json`);
  await writeStateFile(stateFile, session);

  runtime.setOutput('access-token', accessToken);
  runtime.setOutput('refresh-token', refreshToken);
  runtime.setOutput('expires-at', String(session.expiresAt));
  runtime.setOutput('session-id', sessionId ?? '');
  runtime.setOutput('state-file', stateFile);
  if (inputs.exportEnv) {
    runtime.exportVariable(SessionEnv.url, inputs.url);
    runtime.exportVariable(SessionEnv.accessToken, accessToken);
    runtime.exportVariable(SessionEnv.refreshToken, refreshToken);
    runtime.exportVariable(SessionEnv.expiresAt, String(session.expiresAt));
  }
  // The access token names the session even after it expires (RFC 7009 at Tollgate ends the whole session),
  // so later refreshes, which rotate the refresh token, never leave the post step without a token to revoke.
  runtime.saveState(STATE.session, JSON.stringify({ url: inputs.url, accessToken, stateFile, revoke: inputs.revoke }));
  runtime.info(
    `Tollgate session ${sessionId ?? ''} ready: scope "${session.scope ?? ''}", access token valid until ${new Date(session.expiresAt! * 1000).toISOString()}` +
      (inputs.exportEnv ? `; ${SessionEnv.accessToken} is set for the next steps` : ''),
  );
  return session;
}

/**
 * The post step (`post-if: always()`): ends the session at `/revoke` unless
 * the `revoke` input said no or the main step got none, and deletes the
 * state file. A failure here is a warning: the job's result is decided.
 */
export async function runPost(runtime: ActionRuntime): Promise<void> {
  const saved = runtime.getState(STATE.session);
  if (!saved) return;
  const { url, accessToken, stateFile, revoke } = JSON.parse(saved) as { url: string; accessToken: string; stateFile: string; revoke: boolean };
  await rm(stateFile, { force: true }).catch(() => undefined);
  if (!revoke) {
    runtime.info('Tollgate session left to expire (revoke: false)');
    return;
  }
  const fetchWithTimeout = timedFetch(runtime.fetch, 10_000);
  try {
    await revokeToken({ baseUrl: url, fetch: fetchWithTimeout, clock: { now: runtime.now }, retry: resolveRetryOptions({ maxRetries: 2, sleep: runtime.sleep }) }, accessToken);
    runtime.info('Tollgate session revoked (RFC 7009)');
  } catch (error) {
    runtime.warning(`could not revoke the Tollgate session: ${messageOf(error)}; it ends on its own at its idle timeout or lifetime`);
  }
}

/**
 * Up to `attempts` exchanges, each with a FRESH OIDC token from the runner
 * (a token fetched once before a long retry loop may expire inside it, and a
 * CI token is single use at Tollgate: an attempt whose answer was lost may
 * have spent it) and a short timeout per request. Only what may succeed on
 * a retry is retried: network errors and timeouts, 429 and 5xx, waiting as
 * `Retry-After` says (jittered backoff without it). A refusal (4xx) and a
 * missing `id-token: write` permission fail at once.
 */
export async function exchangeWithRetries(runtime: ActionRuntime, inputs: ActionInputs): Promise<TokenSet> {
  const fetchWithTimeout = timedFetch(runtime.fetch, inputs.attemptTimeoutMs);
  const policy = resolveRetryOptions({ maxRetries: inputs.attempts - 1, baseDelayMs: 1000, maxDelayMs: 30_000, sleep: runtime.sleep });
  const noRetries = resolveRetryOptions({ maxRetries: 0 });
  for (let attempt = 1; ; attempt++) {
    let subjectToken: string | undefined;
    let failure: { retryable: boolean; retryAfterMs?: number; error: unknown };
    try {
      subjectToken = await requestActionsIdToken(runtime.env, fetchWithTimeout, inputs.audience);
      return await exchangeToken({ baseUrl: inputs.url, fetch: fetchWithTimeout, clock: { now: runtime.now }, retry: noRetries }, { subjectToken, scope: inputs.scope });
    } catch (error) {
      failure = classify(error);
    }
    const delay = failure.retryable ? retryDelay(attempt, failure.retryAfterMs, policy) : undefined;
    if (delay === undefined) {
      if (isTollgateError(failure.error) && subjectToken && !failure.retryable) showPresentedClaims(runtime, subjectToken, failure.error);
      throw failure.error;
    }
    runtime.warning(`attempt ${attempt} of ${inputs.attempts} failed (${messageOf(failure.error)}); retrying in ${(delay / 1000).toFixed(1)} s with a fresh OIDC token`);
    await runtime.sleep(delay);
  }
}

function classify(error: unknown): { retryable: boolean; retryAfterMs?: number; error: unknown } {
  if (error instanceof CliError) return { retryable: error.exitCode === ExitCodes.unavailable, error };
  if (isTollgateError(error)) {
    const retryable = error.code === 'NETWORK_ERROR' || error.status === 429 || error.status >= 500;
    return { retryable, retryAfterMs: error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000, error };
  }
  return { retryable: false, error };
}

/**
 * Tollgate said no: shows the claims of the token that was presented, in a
 * collapsed group, so the user can see which trust rule did not match. Only
 * the claims trust rules match on (never the token), each on one line.
 */
function showPresentedClaims(runtime: ActionRuntime, subjectToken: string, error: TollgateError): void {
  const claims = unverifiedClaims(subjectToken);
  runtime.startGroup(`Tollgate refused the exchange (${error.code}): the claims of the OIDC token this job presented`);
  for (const name of SHOWN_CLAIMS) {
    const value = claims?.[name];
    if (value === undefined) continue;
    runtime.info(`${name}: ${printable(typeof value === 'string' ? value : JSON.stringify(value))}`);
  }
  runtime.info("Compare them with your trust entry's rules (docs/github-actions.md: \"The matching trust rule\").");
  runtime.endGroup();
}

/** The payload of a JWT, decoded without verification (for display only). */
function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One line, no control characters (a value cannot start a workflow command on a line of its own), bounded. */
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
}

/** The `sid` claim of our own access token (just received over TLS; shown, never trusted). */
function sessionIdOf(accessToken: string): string | undefined {
  const sid = unverifiedClaims(accessToken)?.sid;
  return typeof sid === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(sid) ? sid : undefined;
}

function timedFetch(fetchImpl: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init) => fetchImpl(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

function booleanInput(runtime: Pick<ActionRuntime, 'getInput'>, name: string, fallback: boolean): boolean {
  const value = runtime.getInput(name).trim().toLowerCase();
  if (value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError(ExitCodes.usage, `${name}: expected true or false, got ${JSON.stringify(value.slice(0, 20))}`);
}

function integerInput(runtime: Pick<ActionRuntime, 'getInput'>, name: string, fallback: number, min: number, max: number): number {
  const value = runtime.getInput(name).trim();
  if (value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new CliError(ExitCodes.usage, `${name}: expected a whole number from ${min} to ${max}`);
  return number;
}

/** One line a person can act on; Tollgate's own code and description when it answered. */
export function messageOf(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (isTollgateError(error)) {
    if (error.code === 'NETWORK_ERROR') return `cannot reach Tollgate at /${error.endpoint}: ${causeOf(error)}`;
    if (error.code === 'UNEXPECTED_RESPONSE' && (error.status === 404 || error.status === 403)) return `no Tollgate /${error.endpoint} endpoint at that URL (HTTP ${error.status}): check the url input`;
    return `Tollgate answered ${error.status} at /${error.endpoint}: ${error.code}${error.description ? `: ${error.description}` : ''}`;
  }
  return `unexpected failure: ${(error as Error)?.message ?? String(error)}`;
}

function causeOf(error: TollgateError): string {
  const cause = (error as { cause?: { name?: string; cause?: { code?: string; message?: string }; message?: string } }).cause;
  if (cause?.name === 'TimeoutError' || cause?.name === 'AbortError') return 'timed out';
  return cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? 'network error';
}

