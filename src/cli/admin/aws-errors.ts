import { UnavailableError } from '../../domain/errors';
import { CliError, ExitCodes } from '../cli-error';

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

/**
 * One line and an exit code for a failed AWS (or local store) call: missing
 * or refused credentials are 3, anything that could not be reached or
 * answered (network, throttling, 5xx, a missing table) is 4. `what` names the
 * call; the message never carries a credential.
 */
export function awsFailure(error: unknown, what: string): CliError {
  if (error instanceof CliError) return error;
  const inner = error instanceof UnavailableError ? error.cause : error;
  const name = (inner as { name?: string } | null)?.name ?? '';
  const message = (inner as Error | null)?.message ?? String(inner);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new CliError(ExitCodes.credentials, `${what}: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run aws sso login)`);
  }
  if (DENIED.has(name)) {
    return new CliError(ExitCodes.credentials, `${what}: ${name}: the caller lacks the permission (see the operator policies in docs/operations.md): ${firstLine(message)}`);
  }
  if (name === 'ResourceNotFoundException') return new CliError(ExitCodes.unavailable, `${what}: ${firstLine(message)} (wrong table or stack?)`);
  if (/region/i.test(message) && /missing/i.test(message)) return new CliError(ExitCodes.usage, `${what}: no AWS region: set AWS_REGION (or a profile with a region)`);
  return new CliError(ExitCodes.unavailable, `${what} failed: ${describeCause(inner)}`);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}

/** The most specific reason a request failed: a socket code (`ECONNREFUSED`), else the error's name and message. */
function describeCause(error: unknown): string {
  let current = error as { code?: string; name?: string; message?: string; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string' && /^E[A-Z]+$/.test(current.code)) return current.code;
    const nested = current.cause ?? current.errors?.[0];
    if (!nested) break;
    current = nested as typeof current;
  }
  const top = error as { name?: string; message?: string } | undefined;
  return firstLine(`${top?.name ?? 'Error'}: ${top?.message ?? String(error)}`);
}
