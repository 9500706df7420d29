import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { EnvNames } from '../../src/contract/env-names';
import { AuthorizerEnvNames } from '../../src/contract/env-names';
import { authorizerEnvironment } from '../../src/config/authorizer-config';
import { FUNCTION_ASSETS, type FunctionAsset } from '../../cdk/function-assets';
import { deployConfigFromText } from '../../src/config/deploy-config';
import { LAMBDA_BUILD_OPTIONS } from '../../scripts/build-assets';
import { startBundledFunction } from '../support/bundled-function';
import { FULL_CONFIG } from '../cdk/test-configs';

/**
 * What a Lambda function loads at init, checked on the bundles built the way
 * the shipped assets are (`LAMBDA_BUILD_OPTIONS`, its aliases included), and
 * what a bundle does at init with a config that did not pass synth: it stops,
 * saying why, in a fresh Node process as the Lambda runtime would run it.
 */
describe('Lambda bundles', () => {
  const ROOT = join(__dirname, '..', '..');
  let outdir: string;
  const metafiles = new Map<FunctionAsset, Metafile>();

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'tollgate-bundles-'));
    await Promise.all(
      FUNCTION_ASSETS.map(async (name) => {
        mkdirSync(join(outdir, name));
        const result = await build({ ...LAMBDA_BUILD_OPTIONS, absWorkingDir: ROOT, entryPoints: [join(ROOT, 'src', 'lambda', `${name}.ts`)], outfile: join(outdir, name, 'index.mjs'), metafile: true });
        metafiles.set(name, result.metafile);
      }),
    );
  }, 60_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const packagesOf = (name: FunctionAsset) =>
    new Set(Object.keys(metafiles.get(name)!.inputs).flatMap((path) => path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []));

  it.each(FUNCTION_ASSETS)('%s: no schema library and no credential provider but the environment\'s', (name) => {
    const packages = packagesOf(name);

    expect(packages.has('zod')).toBe(false);
    const providers = [...packages].filter((pkg) => /credential-provider|nested-clients|token-providers/.test(pkg));
    expect(providers.filter((pkg) => pkg !== '@aws-sdk/credential-provider-env')).toEqual([]);
  });

  it('the metadata and key rotation functions carry no DynamoDB client; the authorizer no AWS SDK at all', () => {
    expect(packagesOf('metadata').has('@aws-sdk/client-dynamodb')).toBe(false);
    expect(packagesOf('rotate-keys').has('@aws-sdk/client-dynamodb')).toBe(false);
    expect([...packagesOf('authorizer')].filter((pkg) => pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/'))).toEqual([]);
  });

  // Issue 15: ≤ 300 KB minified. The AWS calls go through src/adapters/aws-json-client.ts; an SDK client
  // (lib-dynamodb's commands, Secrets Manager, Lambda) imported on a function's path would put ~170 KB back.
  it.each(FUNCTION_ASSETS)('%s: at most 300 KB, and no AWS SDK client in it', (name) => {
    const bytes = Object.values(metafiles.get(name)!.outputs).reduce((sum, output) => sum + output.bytes, 0);
    const packages = packagesOf(name);

    expect(bytes).toBeLessThanOrEqual(300 * 1024);
    expect(['@aws-sdk/lib-dynamodb', '@aws-sdk/client-secrets-manager', '@aws-sdk/client-lambda'].filter((pkg) => packages.has(pkg))).toEqual([]);
  });

  const BASE_ENV = { PATH: '/usr/bin:/bin', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'tollgate-test', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' };
  const deployed = deployConfigFromText(JSON.stringify(FULL_CONFIG), 'tollgate.config.json');
  const verifyEnv = {
    ...BASE_ENV,
    [EnvNames.configJson]: deployed.functionConfigJson,
    [EnvNames.configStamp]: deployed.functionConfigStamp,
    [EnvNames.publicBaseUrl]: 'https://tollgate.example.com',
    [EnvNames.sessionsTable]: 'sessions',
    [EnvNames.guardsTable]: 'guards',
    [EnvNames.signingKeysSecretId]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf',
  };

  async function initError(name: FunctionAsset, env: Record<string, string>): Promise<string> {
    try {
      const started = await startBundledFunction({ name, taskRoot: join(outdir, name), handler: 'index.handler', env });
      await started.close();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${name} started`);
  }

  it('starts with the config synth validated and stamped', async () => {
    const verify = await startBundledFunction({ name: 'verify', taskRoot: join(outdir, 'verify'), handler: 'index.handler', env: verifyEnv });
    await verify.close();
  });

  it('refuses to start with the config document as written (never validated by synth)', async () => {
    const { [EnvNames.configStamp]: _stamp, ...env } = verifyEnv;
    const message = await initError('verify', { ...env, [EnvNames.configJson]: JSON.stringify({ trust: FULL_CONFIG.trust }) });

    expect(message).toContain('init failed: invalid Tollgate config:');
    expect(message).toContain(`${EnvNames.configStamp} is not set: this function runs only a config validated by cdk synth`);
  });

  it('refuses to start with a config edited after synth', async () => {
    const edited = verifyEnv[EnvNames.configJson].replace('"audience":"tollgate"', '"audience":"someone-else"');

    expect(await initError('verify', { ...verifyEnv, [EnvNames.configJson]: edited })).toContain(`${EnvNames.configJson} was changed after cdk synth validated it`);
  });

  it('the authorizer starts with the settings its construct stamped, and refuses them edited', async () => {
    const env = { ...BASE_ENV, ...authorizerEnvironment({ issuer: 'https://tollgate.example.com', audience: 'tollgate', tokenSources: [{ type: 'header', name: 'Authorization' }], routeScopes: { 'GET /orders': ['orders:read'] } }) };
    const authorizer = await startBundledFunction({ name: 'authorizer', taskRoot: join(outdir, 'authorizer'), handler: 'index.handler', env });
    await authorizer.close();

    expect(await initError('authorizer', { ...env, [AuthorizerEnvNames.routeScopes]: '{}' })).toContain('TollgateAuthorizer: the settings were changed after synth validated them');
  });
});
