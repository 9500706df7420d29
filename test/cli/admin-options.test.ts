import { parseAdminLine, parseTime, type AdminInvocation } from '../../src/cli/admin/admin-options';
import { CliError } from '../../src/cli/cli-error';

const NOW = 1_800_000_000;

function run(argv: string[]): Extract<AdminInvocation, { kind: 'run' }>['line'] {
  const invocation = parseAdminLine(argv, NOW);
  if (invocation.kind !== 'run') throw new Error('expected a command');
  return invocation.line;
}

function usageError(argv: string[]): string {
  try {
    parseAdminLine(argv, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('parseTime', () => {
  it.each<[string, number]>([
    ['2026-12-06', Date.UTC(2026, 11, 6) / 1000],
    ['2026-12-06T14:00:00Z', Date.UTC(2026, 11, 6, 14) / 1000],
    ['2026-12-06T14:00:00+02:00', Date.UTC(2026, 11, 6, 12) / 1000],
    ['2026-12-06T14:00Z', Date.UTC(2026, 11, 6, 14) / 1000],
    ['1796569947', 1_796_569_947],
    ['90s', NOW - 90],
    ['15m', NOW - 900],
    ['2h', NOW - 7_200],
    ['7d', NOW - 604_800],
  ])('reads %s', (value, expected) => {
    expect(parseTime('--created-after', value, NOW)).toBe(expected);
  });

  it.each(['yesterday', '2026-12-06T14:00:00', '2026-13-45', '12', '2h ago', '-5m', ''])('refuses %j', (value) => {
    expect(() => parseTime('--created-after', value, NOW)).toThrow(/--created-after: expected an ISO 8601 time/);
  });
});

describe('parseAdminLine', () => {
  it('reads a filter with every kind of field', () => {
    const line = run(['sessions', 'list', '--sub', 'github:*', '--kind', 'ci', '--gh', 'ref=refs/heads/*', '--repository', 'acme/app', '--created-after', '1h', '--active', '--json']);

    expect(line.filter).toEqual({
      sub: 'github:*',
      trust: undefined,
      kind: 'ci',
      clientId: undefined,
      upstreamSid: undefined,
      gh: { repository: 'acme/app', ref: 'refs/heads/*' },
      createdAfter: NOW - 3_600,
      createdBefore: undefined,
      state: 'active',
    });
    expect(line).toMatchObject({ filtered: true, json: true });
  });

  it('takes sids as arguments, after --, and with --sid=<sid> (a sid may start with -)', () => {
    expect(run(['sessions', 'revoke', 'abc', '--reason', 'r', '--sid=-xyz', '--sid', 'uvw', '--', '-def']).positionals).toEqual(['abc', '-def', '-xyz', 'uvw']);
    expect(usageError(['sessions', 'revoke', '--reason', 'r', '--sid', '-xyz'])).toContain("Option '--sid' argument is ambiguous");
  });

  it('asks for help with a group, or a command', () => {
    expect(parseAdminLine(['sessions'], NOW)).toEqual({ kind: 'help', group: 'sessions' });
    expect(parseAdminLine(['keys', 'rotate', '--help'], NOW)).toEqual({ kind: 'help', group: 'keys', action: 'keys rotate' });
  });

  it.each<[string[], string]>([
    [['sessions', 'delete'], 'unknown command "sessions delete"; sessions commands: list, show, revoke'],
    [['sessions', 'revoke', '--repository', 'acme/app'], 'give --reason'],
    [['sessions', 'revoke', '--repository', 'acme/app', '--reason', 'two\nlines'], '--reason must be one line'],
    [['sessions', 'revoke', '--repository', 'acme/app', '--reason', 'x'.repeat(501)], '--reason must be one line of at most 500 characters'],
    [['sessions', 'revoke', '--reason', 'r'], '--all for every active session'],
    [['sessions', 'revoke', '--reason', 'r', '--all', '--trust', 'github'], '--all takes no sid and no filter'],
    [['sessions', 'revoke', 'abc', '--trust', 'github', '--reason', 'r'], 'give either sids or filters, not both'],
    [['sessions', 'revoke', '--trust', 'github', '--ended', '--reason', 'r'], '--ended: revoke ends active sessions only'],
    [['sessions', 'revoke', 'a/b', '--reason', 'r'], 'not a sid'],
    [['sessions', 'show'], 'usage: tollgate sessions show <sid>'],
    [['sessions', 'show', 'a', 'b'], 'usage: tollgate sessions show <sid>'],
    [['sessions', 'list', '--stack', 'a', '--outputs', 'b'], 'give only one of --stack and --outputs'],
    [['sessions', 'list', '--stack', 'a', '--endpoint', 'http://127.0.0.1:1'], '--endpoint is for a local store'],
    [['sessions', 'list', '--sub'], "Option '--sub <value>' argument missing"],
    [['sessions', 'list', '--sub', ''], '--sub needs a value'],
    [['sessions', 'list', '--gh', 'ref'], '--gh takes <field>=<value>'],
    [['sessions', 'list', '--gh', 'ref=a', '--gh', 'ref=b'], '--gh ref given twice'],
    [['keys', 'rotate', '--wait', '5m'], '--wait takes whole seconds, at most 900'],
    [['config', 'explain', 'file.json'], 'give --token'],
    [['config', 'check'], 'usage: tollgate config check <file>'],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});
