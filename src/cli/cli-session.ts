import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TokenSet } from '../client/token-endpoint';
import { CliError, ExitCodes } from './cli-error';

/**
 * The session the `tollgate` command carries from one invocation to the next:
 * in the environment (`TOLLGATE_*`, what `--output env` writes to `GITHUB_ENV`)
 * or in a state file (`--state-file`, the `--output json` document).
 */
export interface CliSession {
  url: string;
  accessToken?: string;
  refreshToken?: string;
  /** Epoch seconds. */
  expiresAt?: number;
  scope?: string;
}

/** The environment variables a session travels in. */
export const SessionEnv = {
  url: 'TOLLGATE_URL',
  accessToken: 'TOLLGATE_ACCESS_TOKEN',
  refreshToken: 'TOLLGATE_REFRESH_TOKEN',
  expiresAt: 'TOLLGATE_EXPIRES_AT',
  subjectToken: 'TOLLGATE_SUBJECT_TOKEN',
} as const;

export function sessionFromTokenSet(url: string, set: TokenSet, nowMs: number): CliSession {
  return {
    url,
    accessToken: set.access_token,
    refreshToken: set.refresh_token,
    expiresAt: Math.floor(nowMs / 1000) + set.expires_in,
    scope: set.scope,
  };
}

/** The `--output json` and state-file document. */
export function sessionDocument(session: CliSession, set?: TokenSet): Record<string, unknown> {
  return {
    url: session.url,
    access_token: session.accessToken,
    token_type: 'Bearer',
    ...(set ? { expires_in: set.expires_in } : {}),
    expires_at: session.expiresAt,
    refresh_token: session.refreshToken,
    scope: session.scope,
  };
}

/** The session in the environment, if any part of it is there. */
export function sessionFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<CliSession> {
  const expiresAt = Number(env[SessionEnv.expiresAt]);
  return {
    url: env[SessionEnv.url] || undefined,
    accessToken: env[SessionEnv.accessToken] || undefined,
    refreshToken: env[SessionEnv.refreshToken] || undefined,
    expiresAt: Number.isInteger(expiresAt) && expiresAt > 0 ? expiresAt : undefined,
  };
}

export async function readStateFile(path: string): Promise<Partial<CliSession>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(ExitCodes.credentials, `cannot read the state file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CliError(ExitCodes.credentials, `the state file ${path} is not JSON (write it with --state-file or --output json)`);
  }
  const text_ = (name: string) => (typeof document[name] === 'string' && document[name] !== '' ? (document[name] as string) : undefined);
  return {
    url: text_('url'),
    accessToken: text_('access_token'),
    refreshToken: text_('refresh_token'),
    expiresAt: typeof document.expires_at === 'number' ? document.expires_at : undefined,
    scope: text_('scope'),
  };
}

/** Replaces the state file atomically, readable by its owner only (it holds a refresh token). */
export async function writeStateFile(path: string, session: CliSession): Promise<void> {
  const temporary = join(dirname(path), `.${Date.now()}-${process.pid}.tollgate-state.tmp`);
  await writeFile(temporary, `${JSON.stringify(sessionDocument(session), null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function removeStateFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * `exp` of a JWT access token, read without verification: only to schedule a
 * refresh when the environment lacks `TOLLGATE_EXPIRES_AT` (Tollgate checks
 * the token; the command never trusts it for anything else).
 */
export function unverifiedExpiry(token: string | undefined): number | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}
