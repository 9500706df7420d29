import { build } from 'esbuild';
import { join } from 'node:path';

describe('tollgate/verify bundle', () => {
  it('builds for a neutral platform (Workers, browsers) with no Node built-ins', async () => {
    const result = await build({
      entryPoints: [join(__dirname, '..', '..', 'src', 'verifier', 'index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
    expect(code).toContain('createRemoteJWKSet');
  });
});
