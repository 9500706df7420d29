/**
 * The `tollgate` command's exit codes (documented in docs/github-actions.md
 * and in `tollgate --help`). Scripts switch on them, so they never change.
 */
export const ExitCodes = {
  /** Done (for `verify`: the token is active). */
  ok: 0,
  /** Tollgate refused: `invalid_grant`, `invalid_scope`, a proxy refusal; `verify`: the token is not active. */
  refused: 1,
  /** The command line is wrong: unknown command or option, missing value. */
  usage: 2,
  /** No credentials to work with: not in GitHub Actions and no subject token, no `id-token: write`, no refresh token, unreadable file. */
  credentials: 3,
  /** Tollgate or the OIDC endpoint cannot be reached, is unavailable (503/429 after retries), or answered nonsense. */
  unavailable: 4,
  /** Admin commands: the named session does not exist (or has expired out of the store). */
  notFound: 5,
  /** `curl --fail`: the upstream answered with a status of 400 or more (curl's own code). */
  httpError: 22,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** A failure the command reports in one line on stderr and turns into its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
