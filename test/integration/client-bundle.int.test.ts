import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CLIENT_BUILD_OPTIONS } from '../../scripts/build-options';
import { clerkSessionClaims } from '../../src/local/dev-claims';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';
import { startTestUpstream, type TestUpstream } from '../services/proxy-harness';

const APP = 'https://app.example.com';

/**
 * The published form of the client: the bundle `npm run build:client` writes
 * (platform neutral, as a browser bundler would see it), run by a plain Node
 * process that has nothing but the bundle and `fetch`.
 */
describe('the client bundle (npm run build:client)', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: TestTollgate;
  let bundle: string;

  beforeAll(async () => {
    issuers = await startTestIssuers(['clerk']);
    upstream = await startTestUpstream();
    tollgate = await startTestTollgate({
      config: {
        trust: [{ name: 'clerk', issuer: issuers.issuers.clerk!.issuer, kind: 'user', authorizedParties: [APP], rules: [{ claims: { sub: 'user_*' }, scopes: ['orders:read'] }] }],
        proxy: { upstreamUrl: upstream.url, routes: [{ methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }] },
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-client-bundle-'));
    bundle = join(dir, 'index.js');
    // The options the package's build uses (scripts/build-options.ts), into a folder of its own.
    await build({ ...CLIENT_BUILD_OPTIONS, outfile: bundle, logLevel: 'silent' });
  });
  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  it('imports nothing: no node: modules, no require, no package', () => {
    const code = readFileSync(bundle, 'utf8');
    expect(code).not.toMatch(/^import /m);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).not.toContain('node:');
  });

  it('exchanges and calls the proxy from a plain Node process', async () => {
    const clerk = issuers.issuers.clerk!;
    const subject = await clerk.sign(clerkSessionClaims(clerk.issuer, Math.floor(Date.now() / 1000), { azp: APP }));
    const script = join(bundle, '..', 'call.mjs');
    writeFileSync(
      script,
      `import { createTollgateClient } from './index.js';
const client = createTollgateClient({ baseUrl: process.env.URL, getSubjectToken: () => process.env.SUBJECT });
const response = await client.fetch('/orders/1');
process.stdout.write(response.status + ' ' + (await response.text()));
`,
    );

    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, URL: tollgate.baseUrl, SUBJECT: subject }, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(stdout));
    });

    expect(output).toBe('200 {"ok":true}');
    expect(upstream.received.at(-1)).toMatchObject({ method: 'GET', url: '/orders/1' });
  });
});
