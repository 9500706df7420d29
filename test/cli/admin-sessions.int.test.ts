import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTokenSuite, sidOf, type TokenBody, type TokenSuite } from '../integration/token-fixtures';
import { snapshotStore } from '../support/store-snapshot';
import { BIN, tollgate, type Run } from './cli-harness';

/** util-linux `script`: runs a command on a pseudo-terminal, so the confirmation prompt is exercised as a person meets it. */
const HAS_SCRIPT = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** `tollgate <args>` on a terminal, typing `typed`; output is the terminal's (stdout and stderr together). */
function onTerminal(args: string[], env: Record<string, string>, typed: string): Promise<{ code: number | null; output: string }> {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(typed);
  });
}

/**
 * `tollgate sessions list|show|revoke` as an operator runs it (a child
 * process), against the real local store behind the real local server:
 * sessions made by real exchanges, then found, revoked, and their tokens
 * refused at /verify, the proxy and refresh.
 */
describe('tollgate sessions (child process against the local store)', () => {
  let suite: TokenSuite;
  let env: Record<string, string>;
  const sessions: Record<string, TokenBody> = {};
  const sessionsCli = (args: string[], extraEnv: Record<string, string> = {}, stdin?: string): Promise<Run> =>
    tollgate(['sessions', ...args], { ...env, ...extraEnv }, stdin);
  const jsonLines = (run: Run) =>
    run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    suite = await startTokenSuite();
    env = { DYNAMODB_ENDPOINT: suite.tollgate.storeEndpoint, TOLLGATE_SESSIONS_TABLE: suite.tollgate.tables.sessions };
    const exchange = async (name: string, subject: string, extra: Record<string, string> = {}) => {
      const answer = await suite.tollgate.exchange(subject, extra);
      if (answer.status !== 200) throw new Error(`exchange ${name}: ${answer.status} ${answer.text}`);
      sessions[name] = answer.json as TokenBody;
    };
    await exchange('app1', await suite.githubToken());
    await exchange('app2', await suite.githubToken({ ref: 'refs/heads/feature' }), { client_id: 'deploy-bot' });
    await exchange('other', await suite.githubToken({ repository: 'acme/other', repositoryId: '99' }));
    await exchange('alice', await suite.clerkToken({ sub: 'user_123' }));
    await exchange('bob', await suite.clerkToken({ sub: 'user_456' }));
  }, 30_000);
  afterAll(async () => {
    await suite?.close();
  });

  const sid = (name: string) => sidOf(sessions[name]!.access_token);

  describe('list', () => {
    it('finds the sessions of one repository through the byRepository index, as JSON lines without any token or hash', async () => {
      const run = await sessionsCli(['list', '--repository', 'acme/app', '--json']);

      expect(run.code).toBe(0);
      expect(run.stderr).toContain('using index byRepository');
      const found = jsonLines(run);
      expect(found.map((session) => session.sid).sort()).toEqual([sid('app1'), sid('app2')].sort());
      const first = found.find((session) => session.sid === sid('app2'))!;
      expect(first).toMatchObject({
        sub: expect.stringMatching(/^github:repo:acme\/app:/),
        trust: 'github',
        kind: 'ci',
        clientId: 'deploy-bot',
        state: 'active',
        refreshCount: 0,
        lastRefreshAt: null,
        endReason: null,
        context: { gh: expect.objectContaining({ repository: 'acme/app', ref: 'refs/heads/feature' }) },
      });
      expect(typeof first.sidCreatedAt).toBe('number');
      expect(first.sidExpiry).toBe((first.sidCreatedAt as number) + 3_600);
      const item = await suite.item(sid('app2'));
      for (const secret of [sessions.app2!.access_token, sessions.app2!.refresh_token, sessions.app2!.refresh_token.split('.')[1]!, item!.refreshHash as string]) {
        expect(run.stdout + run.stderr).not.toContain(secret);
      }
    });

    it('counts refreshes and the last refresh time', async () => {
      const refreshed = await suite.tollgate.refresh(sessions.app1!.refresh_token);
      expect(refreshed.status).toBe(200);
      sessions.app1 = refreshed.json as TokenBody;

      const [listed] = jsonLines(await sessionsCli(['list', '--sub', String((await suite.item(sid('app1')))!.sub), '--json'])).filter((s) => s.sid === sid('app1'));

      expect(listed).toMatchObject({ refreshCount: 1, lastRefreshAt: expect.any(Number) });
    });

    it('finds a user by exact subject (bySubject) and by trust entry (byTrust)', async () => {
      const bySubject = await sessionsCli(['list', '--sub', 'clerk:user_123', '--json']);
      const byTrust = await sessionsCli(['list', '--trust', 'clerk', '--json']);

      expect(bySubject.stderr).toContain('using index bySubject');
      expect(jsonLines(bySubject).map((session) => session.sid)).toEqual([sid('alice')]);
      expect(byTrust.stderr).toContain('using index byTrust');
      expect(jsonLines(byTrust).map((session) => session.sid).sort()).toEqual([sid('alice'), sid('bob')].sort());
    });

    it('matches subject and context globs, using the trust index when the glob starts with a literal trust name', async () => {
      const run = await sessionsCli(['list', '--sub', 'github:repo:acme/*:**', '--gh', 'ref=refs/heads/*', '--json']);

      expect(run.stderr).toContain('using index byTrust');
      expect(jsonLines(run).map((session) => session.sid).sort()).toEqual([sid('app1'), sid('app2'), sid('other')].sort());
    });

    it('says when a filter forces a scan, and still filters exactly (kind, client id)', async () => {
      const ci = await sessionsCli(['list', '--kind', 'ci', '--json']);
      const client = await sessionsCli(['list', '--client-id', 'deploy-bot', '--json']);

      expect(ci.stderr).toMatch(/scanning the whole sessions table \(no filter on an indexed field/);
      expect(jsonLines(ci).map((session) => session.sid).sort()).toEqual([sid('app1'), sid('app2'), sid('other')].sort());
      expect(jsonLines(client).map((session) => session.sid)).toEqual([sid('app2')]);
    });

    it('filters by creation time (absolute and relative) and prints a readable table by default', async () => {
      const created = (await suite.item(sid('alice')))!.sidCreatedAt as number;

      const none = await sessionsCli(['list', '--trust', 'clerk', '--created-after', String(created + 3_600)]);
      const recent = await sessionsCli(['list', '--trust', 'clerk', '--created-after', '1h', '--created-before', new Date((created + 60) * 1000).toISOString()]);

      expect(none).toMatchObject({ code: 0, stdout: '' });
      expect(none.stderr).toContain('0 sessions match');
      expect(recent.code).toBe(0);
      const lines = recent.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^SID\s+SUB\s+KIND\s+CREATED\s+EXPIRES\s+REFRESHES\s+LAST REFRESH\s+STATE$/);
      expect(lines).toHaveLength(3);
      expect(recent.stdout).toContain('clerk:user_123');
      expect(recent.stderr).toContain('2 sessions match');
    });

    it.each([
      [['--kind', 'robot'], '--kind must be user or ci'],
      [['--created-after', 'yesterday'], '--created-after: expected an ISO 8601 time'],
      [['--created-after', '2026-12-06T10:00:00'], '--created-after: expected an ISO 8601 time with its zone'],
      [['--created-after', '1h', '--created-before', '2h'], '--created-after must be before --created-before'],
      [['--gh', 'colour=blue'], '--gh takes <field>=<value>'],
      [['--active', '--ended'], 'give only one of --active and --ended'],
      [['--repo', 'acme/app'], "Unknown option '--repo'"],
    ])('refuses a bad filter %j with exit 2', async (args, message) => {
      const run = await sessionsCli(['list', ...args]);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stdout).toBe('');
    });
  });

  describe('show', () => {
    it('prints one session in full, and as JSON', async () => {
      const text = await sessionsCli(['show', `--sid=${sid('alice')}`]);
      const json = await sessionsCli(['show', '--json', '--', sid('alice')]);

      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^sid:\\s+${sid('alice')}$`, 'm'));
      expect(text.stdout).toMatch(/^sub:\s+clerk:user_123$/m);
      expect(text.stdout).toMatch(/^scopes:\s+orders:read orders:write$/m);
      expect(JSON.parse(json.stdout)).toMatchObject({ sid: sid('alice'), sub: 'clerk:user_123', kind: 'user', state: 'active' });
    });

    it('exits 5 for an unknown sid, and 2 for something that is not a sid', async () => {
      const unknown = await sessionsCli(['show', 'AAAAAAAAAAAAAAAAAAAAAA']);
      const bad = await sessionsCli(['show', 'not a sid']);

      expect(unknown.code).toBe(5);
      expect(unknown.stderr).toBe(`tollgate sessions show: no session AAAAAAAAAAAAAAAAAAAAAA in table ${env.TOLLGATE_SESSIONS_TABLE} at ${env.DYNAMODB_ENDPOINT} (unknown, or expired out of the store)\n`);
      expect(bad.code).toBe(2);
    });
  });

  describe('revoke', () => {
    it('--dry-run prints how many and which, and changes nothing', async () => {
      const before = await snapshotStore(suite.db, suite.tollgate.tables);

      const run = await sessionsCli(['revoke', '--repository', 'acme/app', '--reason', 'leaked in a build log', '--dry-run', '--json']);

      expect(run.code).toBe(0);
      expect(run.stderr).toContain('dry run: would end 2 sessions; nothing changed');
      expect(jsonLines(run).map((session) => session.sid).sort()).toEqual([sid('app1'), sid('app2')].sort());
      expect(await snapshotStore(suite.db, suite.tollgate.tables)).toEqual(before);
    });

    it('refuses without --reason, and without --yes when stdin is not a terminal, changing nothing', async () => {
      const before = await snapshotStore(suite.db, suite.tollgate.tables);

      const noReason = await sessionsCli(['revoke', '--repository', 'acme/app', '--yes']);
      const noConfirmation = await sessionsCli(['revoke', '--repository', 'acme/app', '--reason', 'leak'], {}, 'yes\n');
      const nothingNamed = await sessionsCli(['revoke', '--reason', 'leak', '--yes']);

      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toContain('give --reason "<why>"');
      expect(noConfirmation.code).toBe(2);
      expect(noConfirmation.stderr).toContain('refusing to end 2 sessions without confirmation: stdin is not a terminal');
      expect(nothingNamed.code).toBe(2);
      expect(nothingNamed.stderr).toContain('--all for every active session');
      expect(await snapshotStore(suite.db, suite.tollgate.tables)).toEqual(before);
    });

    (HAS_SCRIPT ? it : it.skip)('asks on a terminal, and ends nothing unless the answer is yes', async () => {
      const before = await snapshotStore(suite.db, suite.tollgate.tables);

      const declined = await onTerminal(['sessions', 'revoke', '--sub', 'clerk:user_456', '--reason', 'asked'], env, 'no\n');

      expect(declined.code).toBe(1);
      expect(declined.output).toContain(sid('bob'));
      expect(declined.output).toContain('End this session? Type "yes" to go on:');
      expect(declined.output).toContain('not confirmed; nothing changed');
      expect(await snapshotStore(suite.db, suite.tollgate.tables)).toEqual(before);
    });

    (HAS_SCRIPT ? it : it.skip)('ends the sessions when the person at the terminal answers yes', async () => {
      const answer = await suite.tollgate.exchange(await suite.clerkToken({ sub: 'user_tty' }));
      const ttySid = sidOf((answer.json as TokenBody).access_token);

      const confirmed = await onTerminal(['sessions', 'revoke', '--sub', 'clerk:user_tty', '--reason', 'asked'], env, 'yes\n');

      expect(confirmed.code).toBe(0);
      expect(confirmed.output).toContain(`${ttySid}  revoked`);
      expect(await suite.item(ttySid)).toMatchObject({ status: 'revoked', adminRevocation: { by: 'local', reason: 'asked' } });
    });

    it('exits 5 when a given sid does not exist, and ends none of the others', async () => {
      const before = await snapshotStore(suite.db, suite.tollgate.tables);

      const run = await sessionsCli(['revoke', '--reason', 'test', '--yes', `--sid=${sid('bob')}`, '--', 'AAAAAAAAAAAAAAAAAAAAAA']);

      expect(run.code).toBe(5);
      expect(run.stderr).toContain('no session AAAAAAAAAAAAAAAAAAAAAA');
      expect(await snapshotStore(suite.db, suite.tollgate.tables)).toEqual(before);
    });

    it("ends every session of a repository as /revoke does: who and why recorded, tokens refused at /verify, the proxy and refresh, other sessions untouched", async () => {
      // Warm the proxy's session cache: the bound below is the documented one, not a cold read.
      const proxied = await fetch(`${suite.tollgate.baseUrl}/proxy/orders/1`, { headers: { authorization: `Bearer ${sessions.app2!.access_token}` } });
      expect(proxied.status).toBe(200);
      const revokedAt = Math.floor(Date.now() / 1000);

      const run = await sessionsCli(['revoke', '--repository', 'acme/app', '--reason', 'token leaked in a build log', '--yes']);

      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n').sort()).toEqual([`${sid('app1')}  revoked`, `${sid('app2')}  revoked`].sort());
      expect(run.stderr).toContain('revoked 2 sessions by local');
      expect(run.stderr).toContain('metric: SessionRevoked{source=admin} +2 (local store: not published)');
      for (const name of ['app1', 'app2']) {
        const item = (await suite.item(sid(name)))!;
        expect(item).toMatchObject({ status: 'revoked', endReason: 'revoked', adminRevocation: { by: 'local', reason: 'token leaked in a build log' } });
        expect(item.endedAt).toBeGreaterThanOrEqual(revokedAt);
        expect((item.adminRevocation as { at: number }).at).toBe(item.endedAt);
      }
      // Refresh reads the session strongly consistently: refused at once.
      const refresh = await suite.tollgate.refresh(sessions.app1!.refresh_token);
      expect(refresh.status).toBe(400);
      expect(refresh.json).toMatchObject({ error: 'invalid_grant' });
      // /verify and the proxy: within proxy.sessionCacheSeconds (5 s by default), polled.
      const deadline = Date.now() + 7_000;
      let verify = await suite.tollgate.verify(sessions.app2!.access_token);
      let proxy = await fetch(`${suite.tollgate.baseUrl}/proxy/orders/1`, { headers: { authorization: `Bearer ${sessions.app2!.access_token}` } });
      while ((verify.json.active !== false || proxy.status !== 401) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        verify = await suite.tollgate.verify(sessions.app2!.access_token);
        proxy = await fetch(`${suite.tollgate.baseUrl}/proxy/orders/1`, { headers: { authorization: `Bearer ${sessions.app2!.access_token}` } });
      }
      expect(verify.json).toEqual({ active: false });
      expect(proxy.status).toBe(401);
      expect(Date.now() - revokedAt * 1000).toBeLessThanOrEqual(7_000);
      expect((await suite.tollgate.verify(sessions.app1!.access_token)).json).toEqual({ active: false });
      // Another repository's session and the users' are untouched.
      expect((await suite.tollgate.verify(sessions.other!.access_token)).json.active).toBe(true);
      expect((await suite.item(sid('alice')))!.status).toBe('active');
    }, 20_000);

    it('lists ended sessions with their reason and who ended them, and a second revoke finds nothing to end', async () => {
      const ended = await sessionsCli(['list', '--repository', 'acme/app', '--ended', '--json']);
      const again = await sessionsCli(['revoke', '--repository', 'acme/app', '--reason', 'again', '--yes']);
      const shown = await sessionsCli(['show', `--sid=${sid('app1')}`]);

      expect(jsonLines(ended).map((session) => [session.state, session.endReason, (session.adminRevocation as { by: string }).by])).toEqual([
        ['ended', 'revoked', 'local'],
        ['ended', 'revoked', 'local'],
      ]);
      expect(again.code).toBe(0);
      expect(again.stderr).toBe('using index byRepository\nno active session to end; nothing changed\n');
      expect(shown.stdout).toMatch(/^revoke reason:\s+token leaked in a build log$/m);
    });

    it('ends sessions named by sid (after --, since a base64url sid may start with "-")', async () => {
      const run = await sessionsCli(['revoke', '--reason', 'user asked', '--yes', '--json', '--', sid('bob')]);

      expect(run.code).toBe(0);
      expect(jsonLines(run)).toEqual([{ sid: sid('bob'), outcome: 'revoked', recorded: true }]);
      expect((await suite.tollgate.verify(sessions.bob!.access_token)).json).toEqual({ active: false });
    });
  });

  describe('revoke --all', () => {
    it('ends every active session, and only with --all when no filter is given', async () => {
      const activeBefore = jsonLines(await sessionsCli(['list', '--active', '--json'])).map((session) => session.sid);
      expect(activeBefore.length).toBeGreaterThan(0);

      const dryRun = await sessionsCli(['revoke', '--all', '--reason', 'all', '--dry-run', '--json']);
      const run = await sessionsCli(['revoke', '--all', '--reason', 'incident: everything', '--yes']);

      expect(jsonLines(dryRun).map((session) => session.sid).sort()).toEqual([...activeBefore].sort());
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('scanning the whole sessions table (no filter)');
      expect(run.stderr).toContain(`revoked ${activeBefore.length} session`);
      expect(jsonLines(await sessionsCli(['list', '--active', '--json']))).toEqual([]);
      // /verify may hold `other` as active from the test above for proxy.sessionCacheSeconds (5 s by default): polled.
      const deadline = Date.now() + 7_000;
      let verify = await suite.tollgate.verify(sessions.other!.access_token);
      while (verify.json.active !== false && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        verify = await suite.tollgate.verify(sessions.other!.access_token);
      }
      expect(verify.json).toEqual({ active: false });
    });
  });

  describe('the store', () => {
    it('exits 4 with the reason when the store cannot be reached', async () => {
      const port = await closedPort();

      const run = await sessionsCli(['list', '--trust', 'clerk'], { DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` });

      expect(run.code).toBe(4);
      expect(run.stderr).toContain(`tollgate sessions list: the sessions store (table ${env.TOLLGATE_SESSIONS_TABLE} at http://127.0.0.1:${port}) failed: ECONNREFUSED`);
    }, 30_000);

    it('exits 2 and says how to name one when no store is given', async () => {
      const run = await tollgate(['sessions', 'list']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('no store to act on: give --stack <name> for a deployed Tollgate, or --endpoint (DYNAMODB_ENDPOINT)');
    });

    it('exits 4 naming the table when it does not exist', async () => {
      const run = await sessionsCli(['list', '--trust', 'clerk'], { TOLLGATE_SESSIONS_TABLE: 'no-such-table' });

      expect(run.code).toBe(4);
      expect(run.stderr).toContain('no-such-table');
    });
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
