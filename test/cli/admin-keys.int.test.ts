import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyDocument, generateSigningJwk } from '../../src/adapters/jwk-set';
import { rotationPolicyFor, type RotatingKeyDocument } from '../../src/domain/key-set-rotation';
import { tollgate } from './cli-harness';

/** `tollgate keys list|rotate` on a local key file (what `npm start` keeps in `.tollgate/`), as a child process. */
describe('tollgate keys (child process, local key file)', () => {
  let dir: string;
  const policy = rotationPolicyFor({ accessTokenTtlSeconds: 900 });
  const now = () => Math.floor(Date.now() / 1000);
  const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as RotatingKeyDocument;
  const rows = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-keys-'));
  });

  it("lists npm start's first key as the current one", async () => {
    const path = join(dir, 'fresh.json');
    const document = await generateSigningKeyDocument('ES256');
    writeFileSync(path, JSON.stringify(document), { mode: 0o600 });

    const run = await tollgate(['keys', 'list', '--keys-file', path, '--json']);

    expect(run.code).toBe(0);
    expect(rows(run.stdout)).toEqual([{ kid: document.current, alg: 'ES256', state: 'current', createdAt: null, retiresAt: null, removedAfter: null }]);
    expect(run.stdout).not.toMatch(/"d"/);
  });

  it('stages a fresh key without promoting it (nothing has cached it yet), with the checks of the deployed rotation', async () => {
    const path = join(dir, 'signing-keys.json');
    const document = await generateSigningKeyDocument('ES256');
    writeFileSync(path, JSON.stringify(document), { mode: 0o600 });

    // TOLLGATE_DATA_DIR locates the file as npm start does.
    const run = await tollgate(['keys', 'rotate'], { TOLLGATE_DATA_DIR: dir });

    expect(run.code).toBe(0);
    const after = read(path);
    expect(after.current).toBe(document.current);
    expect(after.keys).toHaveLength(2);
    expect(after.next).toBeDefined();
    expect(after.next).not.toBe(document.current);
    expect(after.keys.find((key) => key.kid === after.next)!.alg).toBe('ES256');
    expect(after.publishedAt![after.next!]).toBeGreaterThanOrEqual(now() - 5);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(run.stderr).toContain(`published ${after.next}`);
    expect(run.stderr).toContain(`${after.next} is staged and becomes the signing key at the first rotation after`);
    expect(run.stdout).toMatch(new RegExp(`^${document.current}\\s+ES256\\s+current\\s+`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^${after.next}\\s+ES256\\s+next\\s+`, 'm'));
  });

  it('promotes a key staged long enough, retires the old one (still published) and stages the next', async () => {
    const path = join(dir, 'aged.json');
    const current = await generateSigningJwk('ES256');
    const staged = await generateSigningJwk('ES256');
    const stagedAt = now() - policy.promotionDelaySeconds - 60;
    const document: RotatingKeyDocument = {
      current: current.kid!,
      next: staged.kid!,
      keys: [current, staged],
      publishedAt: { [current.kid!]: stagedAt - 86_400, [staged.kid!]: stagedAt },
      retiredAt: {},
    };
    writeFileSync(path, JSON.stringify(document), { mode: 0o600 });

    const run = await tollgate(['keys', 'rotate', '--keys-file', path, '--json']);
    const listed = await tollgate(['keys', 'list', '--keys-file', path, '--json']);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${staged.kid} now signs (${current.kid} retired; still published for verification)`);
    const after = read(path);
    expect(after.current).toBe(staged.kid);
    expect(after.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([current.kid, staged.kid, after.next]));
    const byState = Object.fromEntries(rows(listed.stdout).map((row) => [row.state, row]));
    expect(byState.current).toMatchObject({ kid: staged.kid, retiresAt: after.publishedAt![after.next!]! + policy.promotionDelaySeconds });
    expect(byState.next).toMatchObject({ kid: after.next, retiresAt: null });
    expect(byState.retired).toMatchObject({ kid: current.kid, retiresAt: after.retiredAt![current.kid!], removedAfter: after.retiredAt![current.kid!]! + policy.retainSeconds });
  });

  it('refuses a key file that is not a valid key set (exit 1, file unchanged), and a missing one (exit 2)', async () => {
    const path = join(dir, 'broken.json');
    const broken = JSON.stringify({ current: 'nobody', keys: [await generateSigningJwk('ES256')] });
    writeFileSync(path, broken);

    const run = await tollgate(['keys', 'rotate', '--keys-file', path]);
    const missing = await tollgate(['keys', 'list', '--keys-file', join(dir, 'none.json')]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('current names no key');
    expect(readFileSync(path, 'utf8')).toBe(broken);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read the local signing key file ${join(dir, 'none.json')} (ENOENT)`);
  });
});
