import type { CliIo } from '../run-cli';
import { CliError, ExitCodes, type ExitCode } from '../cli-error';
import { adminHelp } from './admin-help';
import { isAdminGroup, parseAdminLine } from './admin-options';

/**
 * `tollgate sessions|keys|config …`: the operators' commands. Loaded by
 * `runCli` with a dynamic import only for these commands, so the CI commands
 * never load the AWS SDK clients they use. Failures are one line on stderr
 * and a documented exit code (`ADMIN_EXIT_CODES`).
 */
export async function runAdmin(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const prefix = `tollgate ${[argv[0], argv[1]].filter((word) => word && !word.startsWith('-')).join(' ')}`;
  try {
    const invocation = parseAdminLine(argv, Math.floor(io.now() / 1000));
    if (invocation.kind === 'help') {
      io.stdout.write(adminHelp(invocation.group, invocation.action));
      return ExitCodes.ok;
    }
    const { line } = invocation;
    // Each group loads its own modules: config needs no AWS SDK, keys no DynamoDB.
    if (line.action.startsWith('sessions ')) return await (await import('./sessions-commands')).sessionsCommand(line, io);
    if (line.action.startsWith('keys ')) return await (await import('./keys-commands')).keysCommand(line, io);
    return await (await import('./config-commands')).configCommand(line, io);
  } catch (error) {
    const failure = error instanceof CliError ? error : new CliError(ExitCodes.refused, `unexpected failure: ${(error as Error)?.message ?? String(error)}`);
    io.stderr.write(`${prefix}: ${failure.message}\n`);
    return failure.exitCode;
  }
}

export { isAdminGroup };
