import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FUNCTION_ASSETS } from '../../cdk/function-assets';
import { TollgateService } from '../../cdk/tollgate-service';
import { ConfigError } from '../../src/config/config';
import { cdkJsonContext, PROJECT_ROOT, synthTollgate } from './synth-tollgate';
import { FULL_CONFIG } from './test-configs';

/**
 * The stateful resources' logical ids as the stack had them before
 * `TollgateService` existed (synthesized from the FULL_CONFIG before the
 * change). A different id is a new resource: an empty table, a new key set,
 * retained logs orphaned. They must never change.
 */
const LOGICAL_IDS_BEFORE_THE_CONSTRUCT = {
  'AWS::DynamoDB::Table': ['TablesGuards17CF79F1', 'TablesSessions486350CB'],
  'AWS::SecretsManager::Secret': ['SigningKeysSecret988BD324'],
  'AWS::SecretsManager::RotationSchedule': ['SigningKeysSchedule69522CC5'],
  'AWS::Lambda::Function': [
    'FunctionsClerkWebhookFunctionDD26EF56',
    'FunctionsMetadataFunctionA6C4B140',
    'FunctionsProxyFunction48795ECB',
    'FunctionsRefreshFunction05CCC850',
    'FunctionsRevokeFunction7833CACB',
    'FunctionsTokenFunctionE065CB29',
    'FunctionsVerifyFunctionE49925FB',
    'SigningKeysRotationFunctionF50F4295',
  ],
  'AWS::Logs::LogGroup': [
    'FunctionsClerkWebhookLogs20619890',
    'FunctionsMetadataLogsC3E40DF1',
    'FunctionsProxyLogsAD7862EA',
    'FunctionsRefreshLogs1960DDB7',
    'FunctionsRevokeLogsEABB9588',
    'FunctionsTokenLogs7E8E7302',
    'FunctionsVerifyLogs11F83ACB',
    'HttpAccessLogs1CB64BE3',
    'HttpExecutionLogs36EB517E',
    'SigningKeysRotationLogs3D776ED5',
  ],
};

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('TollgateService', () => {
  it('keeps, inside TollgateStack, the logical id every stateful resource had before the construct existed', () => {
    const { template } = synthTollgate({ config: FULL_CONFIG });

    for (const [type, ids] of Object.entries(LOGICAL_IDS_BEFORE_THE_CONSTRUCT)) {
      expect({ type, ids: Object.keys(template.findResources(type)).sort() }).toEqual({ type, ids: [...ids].sort() });
    }
  });

  it('deploys the prebuilt bundles of dist/assets byte for byte, never bundling at synth', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'tollgate-service-'));
    const { template } = synthTollgate({ config: FULL_CONFIG, outdir });
    const shipped = new Set(FUNCTION_ASSETS.map((name) => sha256(readFileSync(join(PROJECT_ROOT, 'dist', 'assets', name, 'index.mjs')))));

    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Handler: string; Code: { S3Key: string } } }[];

    expect(functions).toHaveLength(8);
    for (const fn of functions) {
      expect(fn.Properties.Handler).toBe('index.handler');
      const staged = readFileSync(join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'));
      expect(shipped.has(sha256(staged))).toBe(true);
    }
  });

  it('embeds in any stack from a config document, and exposes the URLs a stack outputs', () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'Consumer');

    const service = new TollgateService(stack, 'Tollgate', { config: { ...FULL_CONFIG, issuer: 'https://auth.example.com/' } });

    expect({ issuer: service.issuer, jwks: service.jwksUrl, metadata: service.metadataUrl }).toEqual({
      issuer: 'https://auth.example.com',
      jwks: 'https://auth.example.com/.well-known/jwks.json',
      metadata: 'https://auth.example.com/.well-known/oauth-authorization-server',
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
  });

  it('reads the same config file as the local runtime, and reports every problem of a bad one by path', () => {
    const stack = new Stack(new App(), 'Consumer');
    expect(() => new TollgateService(stack, 'Example', { configFile: join(PROJECT_ROOT, 'cdk', 'example.config.json') })).not.toThrow();

    let error: unknown;
    try {
      new TollgateService(stack, 'Bad', { config: { trust: FULL_CONFIG.trust, audience: '', issuer: 'not a URL' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(expect.arrayContaining([expect.stringMatching(/^audience: /), expect.stringMatching(/^issuer: /)]));
  });

  it('takes exactly one source of config', () => {
    const stack = new Stack(new App(), 'Consumer');
    expect(() => new TollgateService(stack, 'None', {})).toThrow('exactly one of configFile, config and deployConfig');
    expect(() => new TollgateService(stack, 'Two', { config: FULL_CONFIG, configFile: 'tollgate.config.json' })).toThrow('exactly one of');
  });

  it('says what to run when the prebuilt assets are missing', () => {
    const stack = new Stack(new App(), 'Consumer');
    const empty = mkdtempSync(join(tmpdir(), 'tollgate-no-assets-'));

    expect(() => new TollgateService(stack, 'Tollgate', { config: FULL_CONFIG, assetsDirectory: empty })).toThrow(/prebuilt function asset rotate-keys is missing .*npm run build:assets/);
  });
});
