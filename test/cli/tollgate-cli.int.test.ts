import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { decodeJwt } from 'jose';
import { startTokenSuite, REPO, type TokenSuite } from '../integration/token-fixtures';
import { startActionsOidcServer, type ActionsOidcServer } from './actions-oidc-server';
import { assignments, tollgate } from './cli-harness';

describe('tollgate command (child process against the local server)', () => {
  let suite: TokenSuite;
  let oidc: ActionsOidcServer;
  let dir: string;
  let url: string;
  let fileCount = 0;
  const file = (name: string) => join(dir, `${++fileCount}-${name}`);

  /** A GitHub Actions job's environment, with fresh GITHUB_ENV and GITHUB_OUTPUT files. */
  function actionsEnv(extra: Record<string, string> = {}) {
    const githubEnv = file('github-env');
    const githubOutput = file('github-output');
    writeFileSync(githubEnv, '');
    writeFileSync(githubOutput, '');
    return {
      githubEnv,
      githubOutput,
      env: {
        GITHUB_ACTIONS: 'true',
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
        GITHUB_ENV: githubEnv,
        GITHUB_OUTPUT: githubOutput,
        ...extra,
      },
    };
  }

  async function subjectFile(): Promise<string> {
    const path = file('subject.jwt');
    writeFileSync(path, `${await suite.githubToken()}\n`);
    return path;
  }

  beforeAll(async () => {
    suite = await startTokenSuite();
    oidc = await startActionsOidcServer(suite.github, REPO);
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
    url = suite.tollgate.baseUrl;
  });
  afterAll(async () => {
    await oidc?.close();
    await suite?.close();
  });

  describe('exchange inside GitHub Actions', () => {
    it('requests the OIDC token, masks both tokens first, and writes them to GITHUB_ENV and GITHUB_OUTPUT', async () => {
      const { env, githubEnv, githubOutput } = actionsEnv();

      const run = await tollgate(['exchange', '--url', url, '--output', 'env'], env);

      expect(run).toMatchObject({ code: 0, stderr: '' });
      const written = assignments(githubEnv);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe(`::add-mask::${written.TOLLGATE_ACCESS_TOKEN}`);
      expect(lines[1]).toBe(`::add-mask::${written.TOLLGATE_REFRESH_TOKEN}`);
      // Beyond the mask commands, no token appears in the log.
      expect(lines.slice(2).join('\n')).not.toContain(written.TOLLGATE_ACCESS_TOKEN!);
      expect(lines.slice(2).join('\n')).not.toContain(written.TOLLGATE_REFRESH_TOKEN!);
      expect(written.TOLLGATE_URL).toBe(url);
      expect(written.TOLLGATE_REFRESH_TOKEN).toMatch(/^tgr_/);
      // Counted from before the request: never after the token's exp, at most the request's duration before it.
      const exp = decodeJwt(written.TOLLGATE_ACCESS_TOKEN!).exp!;
      expect(Number(written.TOLLGATE_EXPIRES_AT)).toBeLessThanOrEqual(exp);
      expect(Number(written.TOLLGATE_EXPIRES_AT)).toBeGreaterThanOrEqual(exp - 2);
      expect(assignments(githubOutput)).toEqual({
        'access-token': written.TOLLGATE_ACCESS_TOKEN,
        'refresh-token': written.TOLLGATE_REFRESH_TOKEN,
        'expires-at': written.TOLLGATE_EXPIRES_AT,
      });
      expect(oidc.audiences.at(-1)).toBe('tollgate');
      expect((await suite.tollgate.verify(written.TOLLGATE_ACCESS_TOKEN!)).json).toMatchObject({ active: true, kind: 'ci', scope: 'orders:read deploy' });
    });

    it('defaults to --output env in Actions, and passes --audience and --scope on', async () => {
      const { env, githubEnv } = actionsEnv();

      const run = await tollgate(['exchange', '--url', url, '--audience', 'tollgate', '--scope', 'deploy'], env);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^::add-mask::/);
      expect(run.stdout).toContain('Tollgate session ready: scope "deploy"');
      const introspected = await suite.tollgate.verify(assignments(githubEnv).TOLLGATE_ACCESS_TOKEN!);
      expect(introspected.json.scope).toBe('deploy');
    });

    it('with --output token prints the access token alone on stdout and the masks on stderr', async () => {
      const { env } = actionsEnv();

      const run = await tollgate(['exchange', '--url', url, '--output', 'token'], env);

      expect(run.code).toBe(0);
      const token = run.stdout.trim();
      expect(run.stdout).toBe(`${token}\n`);
      expect(run.stderr).toContain(`::add-mask::${token}\n`);
      expect(run.stderr).toMatch(/::add-mask::tgr_/);
    });

    it('asks for id-token: write when the job cannot request an OIDC token', async () => {
      const run = await tollgate(['exchange', '--url', url], { GITHUB_ACTIONS: 'true' });

      expect(run.code).toBe(3);
      expect(run.stderr).toContain('give the job `permissions: id-token: write`');
      expect(run.stdout).toBe('');
    });

    it('reports a refused OIDC token request', async () => {
      const { env } = actionsEnv({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' });
      const refusedBefore = oidc.refused;

      const run = await tollgate(['exchange', '--url', url], env);

      expect(run.code).toBe(3);
      expect(run.stderr).toBe('tollgate exchange: the GitHub Actions OIDC endpoint refused the token request (HTTP 401)\n');
      expect(oidc.refused).toBe(refusedBefore + 1);
    });

    it("refuses an audience the trust entry does not accept, with the server's description", async () => {
      const { env } = actionsEnv();

      const run = await tollgate(['exchange', '--url', url, '--audience', 'someone-else'], env);

      expect(run.code).toBe(1);
      expect(run.stderr).toBe('tollgate exchange: Tollgate refused at /token: invalid_grant: subject token audience is not accepted\n');
    });
  });

  describe('exchange outside GitHub Actions', () => {
    it('needs a subject token, and says how to give one', async () => {
      const run = await tollgate(['exchange', '--url', url]);

      expect(run.code).toBe(3);
      expect(run.stderr).toContain('not running in GitHub Actions and no subject token given: use --subject-token-file <path>');
    });

    it('prints the session as JSON with --subject-token-file, without masks', async () => {
      const run = await tollgate(['exchange', '--url', url, '--subject-token-file', await subjectFile()]);

      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      const document = JSON.parse(run.stdout);
      expect(document).toMatchObject({ url, token_type: 'Bearer', expires_in: 900, scope: 'orders:read deploy' });
      expect(document.refresh_token).toMatch(/^tgr_/);
    });

    it('reads the subject token from stdin with --subject-token-file -', async () => {
      const run = await tollgate(['exchange', '--url', url, '--subject-token-file', '-', '--output', 'token'], {}, await suite.githubToken());
      expect(run.code).toBe(0);
      expect((await suite.tollgate.verify(run.stdout.trim())).json.active).toBe(true);
    });

    it('prints export lines with --output env and no GITHUB_ENV', async () => {
      const run = await tollgate(['exchange', '--url', url, '--subject-token', await suite.githubToken(), '--output', 'env']);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^export TOLLGATE_URL='http:\/\/127\.0\.0\.1:\d+'\nexport TOLLGATE_ACCESS_TOKEN='[^']+'\nexport TOLLGATE_REFRESH_TOKEN='tgr_[^']+'\nexport TOLLGATE_EXPIRES_AT='\d+'\n$/);
    });

    it("says invalid_grant with the server's description when a single-use token is replayed", async () => {
      const subject = await subjectFile();
      expect((await tollgate(['exchange', '--url', url, '--subject-token-file', subject])).code).toBe(0);

      const replay = await tollgate(['exchange', '--url', url, '--subject-token-file', subject]);

      expect(replay.code).toBe(1);
      expect(replay.stderr).toBe('tollgate exchange: Tollgate refused at /token: invalid_grant: subject token was already used\n');
    });

    it('says when there is no token endpoint at the URL', async () => {
      const elsewhere = new URL(oidc.requestUrl).origin;
      const run = await tollgate(['exchange', '--url', elsewhere, '--subject-token-file', await subjectFile()]);

      expect(run.code).toBe(4);
      expect(run.stderr).toBe('tollgate exchange: no Tollgate /token endpoint at that URL (HTTP 404): check --url\n');
    });

    it('says when Tollgate cannot be reached', async () => {
      const run = await tollgate(['exchange', '--url', 'http://127.0.0.1:9', '--subject-token-file', await subjectFile()]);

      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/^tollgate exchange: cannot reach http:\/\/127\.0\.0\.1:9\/token: /);
    });
  });

  describe('refresh, verify, revoke', () => {
    it('refreshes from the environment in Actions and writes the rotated tokens back to GITHUB_ENV', async () => {
      const first = actionsEnv();
      await tollgate(['exchange', '--url', url], first.env);
      const session = assignments(first.githubEnv);
      const next = actionsEnv(session);

      const run = await tollgate(['refresh'], next.env);

      expect(run.code).toBe(0);
      const rotated = assignments(next.githubEnv);
      expect(rotated.TOLLGATE_REFRESH_TOKEN).toMatch(/^tgr_/);
      expect(rotated.TOLLGATE_REFRESH_TOKEN).not.toBe(session.TOLLGATE_REFRESH_TOKEN);
      expect(run.stdout.startsWith(`::add-mask::${rotated.TOLLGATE_ACCESS_TOKEN}\n::add-mask::${rotated.TOLLGATE_REFRESH_TOKEN}\n`)).toBe(true);
      // The old refresh token is rotated out: presented again within the grace window it gets the same
      // successor (a job retrying a step whose answer it lost keeps its session; docs/token-service.md).
      const again = await tollgate(['refresh', '--output', 'json'], { TOLLGATE_URL: url, TOLLGATE_REFRESH_TOKEN: session.TOLLGATE_REFRESH_TOKEN });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ refresh_token: rotated.TOLLGATE_REFRESH_TOKEN });
    });

    it('keeps a session in a state file (mode 0600): refresh rewrites it, verify reads it, revoke ends it and deletes it', async () => {
      const state = file('session.json');
      expect((await tollgate(['exchange', '--url', url, '--subject-token-file', await subjectFile(), '--state-file', state, '--output', 'token'])).code).toBe(0);
      expect(statSync(state).mode & 0o777).toBe(0o600);
      const before = JSON.parse(readFileSync(state, 'utf8'));

      const refreshed = await tollgate(['refresh', '--state-file', state, '--output', 'token']);
      const after = JSON.parse(readFileSync(state, 'utf8'));
      const verified = await tollgate(['verify', '--state-file', state]);
      const revoked = await tollgate(['revoke', '--state-file', state]);

      expect(refreshed.code).toBe(0);
      expect(after.refresh_token).not.toBe(before.refresh_token);
      expect(refreshed.stdout.trim()).toBe(after.access_token);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ active: true, scope: 'orders:read deploy', kind: 'ci' });
      expect(revoked).toMatchObject({ code: 0, stderr: 'revoked: the session behind this token, if it was active, has ended\n' });
      expect(existsSync(state)).toBe(false);
      const inactive = await tollgate(['verify', '--url', url, '--token', after.access_token]);
      expect(inactive.code).toBe(1);
      expect(JSON.parse(inactive.stdout)).toEqual({ active: false });
      expect(inactive.stderr).toBe('the token is not active\n');
    });

    it('revoke in Actions clears the session variables for the later steps', async () => {
      const first = actionsEnv();
      await tollgate(['exchange', '--url', url], first.env);
      const session = assignments(first.githubEnv);
      const next = actionsEnv(session);

      const run = await tollgate(['revoke'], next.env);

      expect(run.code).toBe(0);
      expect(assignments(next.githubEnv)).toEqual({ TOLLGATE_ACCESS_TOKEN: '', TOLLGATE_REFRESH_TOKEN: '', TOLLGATE_EXPIRES_AT: '' });
      expect((await suite.tollgate.verify(session.TOLLGATE_ACCESS_TOKEN!)).json).toEqual({ active: false });
    });

    it('says what is missing when there is no refresh token', async () => {
      const run = await tollgate(['refresh', '--url', url]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('no refresh token: run `tollgate exchange` first');
    });
  });

  describe('command line', () => {
    it.each(['exchange', 'refresh', 'revoke', 'verify', 'curl'])('%s --help prints its usage and the exit codes', async (command) => {
      const run = await tollgate([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: tollgate ${command}`);
      expect(run.stdout).toContain('Exit codes:');
    });

    it.each([
      [['frobnicate'], 'tollgate: unknown command "frobnicate"; commands: exchange, refresh, revoke, verify, curl\n'],
      [['exchange', '--bogus'], "tollgate exchange: Unknown option '--bogus' (see tollgate exchange --help)\n"],
      [['exchange', '--url', 'https://t.example.com', '--output', 'yaml'], 'tollgate exchange: --output must be one of env, json, token\n'],
      [['exchange', '--output', 'json', '--subject-token', 'a.b.c'], 'tollgate exchange: give --url <tollgate base url> (or set TOLLGATE_URL)\n'],
      [['exchange', '--url', 'http://tollgate.example.com', '--subject-token', 'a.b.c'], 'tollgate exchange: --url: baseUrl must be https:// (http:// only for localhost and 127.0.0.1)\n'],
    ])('%j is a usage error (exit 2)', async (args, message) => {
      const run = await tollgate(args);
      expect(run).toEqual({ code: 2, stdout: '', stderr: message });
    });
  });

  describe('the bundle (npm run build:cli)', () => {
    it('runs on bare Node with no package installed: only node: built-ins are imported', async () => {
      const outfile = file('tollgate.mjs');
      // The same options as the build:cli script.
      await build({ entryPoints: [join(__dirname, '../../src/cli/bin.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'silent' });
      const imports = [...readFileSync(outfile, 'utf8').matchAll(/^import .* from "([^"]+)";$/gm)].map((match) => match[1]);
      expect(imports.every((specifier) => specifier!.startsWith('node:'))).toBe(true);

      const run = await tollgate(['exchange', '--url', url, '--subject-token-file', await subjectFile(), '--output', 'token'], {}, undefined, outfile);

      expect(run.code).toBe(0);
      expect((await suite.tollgate.verify(run.stdout.trim())).json.active).toBe(true);
    });
  });
});
