import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TollgateConfigInput } from '../../src/config/config';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { FULL_CONFIG } from '../cdk/test-configs';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { tollgate } from './cli-harness';

/** `tollgate config check|explain` as a child process: files in, lines and exit codes out, nothing sent anywhere. */
describe('tollgate config (child process)', () => {
  let dir: string;
  let issuers: TestIssuerServer;
  let count = 0;
  const file = (content: string) => {
    const path = join(dir, `${++count}.json`);
    writeFileSync(path, content);
    return path;
  };
  const now = () => Math.floor(Date.now() / 1000);

  /** FULL_CONFIG's trust, but issued by a loopback issuer whose key requests are counted. */
  const explainConfig = (): TollgateConfigInput => ({
    trust: [
      { ...FULL_CONFIG.trust[0]!, issuer: issuers.issuers.github!.issuer, jwksUri: issuers.issuers.github!.jwksUri },
      { ...FULL_CONFIG.trust[1]!, issuer: issuers.issuers.clerk!.issuer },
    ],
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    issuers = await startTestIssuers(['github', 'clerk']);
  });
  afterAll(async () => {
    await issuers?.close();
  });

  describe('check', () => {
    it('accepts a production config as synth does and summarises it', async () => {
      const run = await tollgate(['config', 'check', file(JSON.stringify(FULL_CONFIG))]);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('valid (as cdk synth checks it)');
      expect(run.stdout).toContain('trust:   github (ci, 1 rule); clerk (user, 1 rule)');
      expect(run.stdout).toContain('2 routes to https://api.example.com');
    });

    it('reports every problem by its path, exit 1', async () => {
      const path = file(
        JSON.stringify({
          trust: [{ name: 'Bad Name', issuer: 'http://example.com', kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { ref: 'refs/heads/main' }, scopes: [] }] }],
          colour: 'blue',
        }),
      );

      const run = await tollgate(['config', 'check', path]);

      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^${path}: trust\\[0\\]\\.name: `)),
          expect.stringMatching(new RegExp(`^${path}: trust\\[0\\]\\.issuer: expected an https:// URL`)),
          `${path}: trust[0].rules[0].scopes: expected a non-empty list`,
          `${path}: colour: unknown key`,
        ]),
      );
      expect(lines.at(-1)).toMatch(/^\d+ problems$/);
    });

    it('applies the deployment checks (env: secret refs), which --local leaves out', async () => {
      const path = file(JSON.stringify({ ...FULL_CONFIG, webhooks: { clerk: { signingSecret: 'env:CLERK_WEBHOOK_SECRET' } } }));

      const deployed = await tollgate(['config', 'check', path]);
      const local = await tollgate(['config', 'check', path, '--local', '--json']);

      expect(deployed.code).toBe(1);
      expect(deployed.stderr).toContain(`${path}: webhooks.clerk.signingSecret: env: refs cannot be deployed`);
      expect(local.code).toBe(0);
      expect(JSON.parse(local.stdout)).toMatchObject({ valid: true, webhooks: ['clerk'] });
    });

    it('reports a JSON syntax error as a problem (exit 1) and an unreadable file as a usage error (exit 2)', async () => {
      const broken = await tollgate(['config', 'check', file('{"trust": [')]);
      const missing = await tollgate(['config', 'check', join(dir, 'nope.json')]);

      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('not valid JSON');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe(`tollgate config check: cannot read the config file ${join(dir, 'nope.json')}: ENOENT\n`);
    });
  });

  describe('explain', () => {
    it('names the trust entry, each check and condition, and the scopes, without fetching keys or printing the token', async () => {
      const token = await issuers.issuers.github!.sign(githubActionsClaims(issuers.issuers.github!.issuer, now(), { repositoryId: '74' }));
      const fetchesBefore = [...issuers.fetches.values()].reduce((a, b) => a + b, 0);

      const run = await tollgate(['config', 'explain', file(JSON.stringify(explainConfig())), '--token', token]);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('the signature is NOT checked');
      expect(run.stdout).toContain('trust entry github (ci): the one Tollgate would use');
      expect(run.stdout).toMatch(/ok {3}audience: tollgate; accepted: tollgate/);
      expect(run.stdout).toContain('rule 0: matches → deploy orders:read');
      expect(run.stdout).toContain('ok   repository_id = "74"; wanted "74"');
      expect(run.stdout).toContain('ok   ref = "refs/heads/main"; wanted "refs/heads/main"');
      expect(run.stdout).toContain('result: granted "deploy orders:read" by trust entry github');
      expect(run.stdout + run.stderr).not.toContain(token.split('.')[2]!);
      expect([...issuers.fetches.values()].reduce((a, b) => a + b, 0)).toBe(fetchesBefore);
    });

    it('shows which condition failed and exits 1 when no rule matches', async () => {
      const token = await issuers.issuers.github!.sign(githubActionsClaims(issuers.issuers.github!.issuer, now(), { repositoryId: '74', ref: 'refs/heads/feature' }));
      const path = join(dir, 'token.jwt');
      writeFileSync(path, `${token}\n`);

      const run = await tollgate(['config', 'explain', file(JSON.stringify(explainConfig())), '--token', path, '--json']);

      expect(run.code).toBe(1);
      const explanation = JSON.parse(run.stdout);
      expect(explanation).toMatchObject({ signatureChecked: false, chosen: 'github', scopes: null });
      expect(explanation.entries[0].rules[0].conditions).toEqual([
        { claim: 'repository_id', patterns: ['74'], actual: '74', held: true },
        { claim: 'ref', patterns: ['refs/heads/main'], actual: 'refs/heads/feature', held: false },
      ]);
    });

    it('reads the token from stdin, and refuses an expired token, a wrong audience and an unknown issuer', async () => {
      const github = issuers.issuers.github!;
      const expired = await github.sign(githubActionsClaims(github.issuer, now() - 3_600, { repositoryId: '74' }));
      const wrongAudience = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', audience: 'someone-else' }));
      const stranger = await github.sign(githubActionsClaims('https://stranger.example.com', now()));
      const config = file(JSON.stringify(explainConfig()));

      const expiredRun = await tollgate(['config', 'explain', config, '--token', '-'], {}, expired);
      const audienceRun = await tollgate(['config', 'explain', config, '--token', wrongAudience]);
      const strangerRun = await tollgate(['config', 'explain', config, '--token', stranger]);

      expect(expiredRun.code).toBe(1);
      expect(expiredRun.stdout).toMatch(/FAIL expiry: expired at /);
      expect(audienceRun.code).toBe(1);
      expect(audienceRun.stdout).toContain('FAIL audience: someone-else; accepted: tollgate');
      expect(strangerRun.code).toBe(1);
      expect(strangerRun.stdout).toContain('issuer: https://stranger.example.com: no trust entry has this issuer');
    });

    it('needs --token and a JWT (exit 2)', async () => {
      const config = file(JSON.stringify(explainConfig()));

      const noToken = await tollgate(['config', 'explain', config]);
      const notJwt = await tollgate(['config', 'explain', config, '--token', 'abc.def.ghi']);

      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toContain('give --token <jwt or file>');
      expect(notJwt.code).toBe(2);
      expect(notJwt.stderr).toContain('--token: not a JWT');
    });
  });

  it('has its own help section, and the main help points to it', async () => {
    const main = await tollgate(['--help']);
    const config = await tollgate(['help', 'config']);
    const sessions = await tollgate(['sessions', 'revoke', '--help']);

    expect(main.stdout).toContain('sessions   list, show and revoke sessions');
    expect(config.stdout).toContain('Usage: tollgate config check|explain <file>');
    expect(sessions.stdout).toContain('--dry-run');
    expect(sessions.stdout).toContain('5   no such session');
  });
});
