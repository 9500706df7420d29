import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromStamp } from '../../src/app/deployed-config';
import { authorizerConfigFromEnvironment } from '../../src/config/authorizer-config';
import { checkConfigStamp } from '../../src/config/config-stamp';
import { AuthorizerEnvNames, EnvNames } from '../../src/contract/env-names';
import { TollgateAuthorizer } from '../../cdk/tollgate-authorizer';
import { cdkJsonContext, synthTollgate, type SynthResult } from './synth-tollgate';
import { FULL_CONFIG } from './test-configs';

type FunctionResource = { Properties: { Handler?: string; Environment?: { Variables?: Record<string, unknown> } } };

/**
 * Config validated once, at synth: every function's environment carries the
 * validated values and the stamp that vouches for them, and nothing that
 * would let a function start without them (a config file path, a document as
 * written). The stamp check and structural check the functions run at init
 * accept exactly what synth put there.
 */
describe('the functions\' config in the template', () => {
  let full: SynthResult;
  let functions: [string, Record<string, unknown>][];

  beforeAll(() => {
    full = synthTollgate({ config: FULL_CONFIG });
    functions = Object.entries(full.template.findResources('AWS::Lambda::Function') as Record<string, FunctionResource>)
      .filter(([, resource]) => resource.Properties.Handler !== undefined)
      .map(([id, resource]) => [id, resource.Properties.Environment?.Variables ?? {}]);
  });

  it('gives every Tollgate function the validated config and its stamp, and no way to start without them', () => {
    const { functionConfigJson, functionConfigStamp } = full.deployConfig;
    // token, refresh, verify, revoke, metadata, proxy, Clerk webhook, key rotation.
    expect(functions).toHaveLength(8);
    for (const [id, variables] of functions) {
      expect({ id, json: variables[EnvNames.configJson], stamp: variables[EnvNames.configStamp] }).toEqual({ id, json: functionConfigJson, stamp: functionConfigStamp });
      expect({ id, file: variables[EnvNames.configFile] }).toEqual({ id, file: undefined });
    }
    expect(checkConfigStamp(functionConfigJson, functionConfigStamp)).toBeUndefined();
  });

  it('carries the validated values (defaults filled in, the deploy-only aws key left out), which the functions\' init accepts', () => {
    const variables = functions[0]![1] as Record<string, string>;
    const { aws: _deployOnly, ...forFunctions } = full.deployConfig.config;

    const config = configFromStamp(variables);

    expect(config).toEqual(forFunctions);
    expect(JSON.parse(variables[EnvNames.configJson]!)).toMatchObject({ signing: { alg: 'RS256' }, accessTokenTtlSeconds: 900, dpop: { nonce: false } });
    expect(JSON.parse(variables[EnvNames.configJson]!)).not.toHaveProperty('aws');
  });

  it('stamps the TollgateAuthorizer\'s settings at synth, which its function\'s init accepts', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Consumer');
    new TollgateAuthorizer(stack, 'Tollgate', { issuer: 'https://auth.example.com', routeScopes: { 'GET /orders': ['orders:read'] }, introspectCacheSeconds: 30 });
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<string, FunctionResource>);
    const variables = resource!.Properties.Environment!.Variables as Record<string, string>;

    expect(variables[AuthorizerEnvNames.configStamp]).toMatch(/^tollgate-config\/v\d+\/sha256:/);
    expect(authorizerConfigFromEnvironment(variables)).toEqual({
      issuer: 'https://auth.example.com',
      audience: 'tollgate',
      tokenSources: [{ type: 'header', name: 'Authorization' }],
      routeScopes: { 'GET /orders': ['orders:read'] },
      introspectCacheSeconds: 30,
    });
  });

  it('refuses TollgateAuthorizer settings it cannot stamp, at synth', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Consumer');

    expect(() => new TollgateAuthorizer(stack, 'Tollgate', { issuer: 'http://auth.example.com', routeScopes: { 'GET /orders': ['orders read'] } })).toThrow(
      'TollgateAuthorizer: invalid settings:\n  issuer: expected an https:// URL (http:// only for loopback hosts)\n  routeScopes.GET /orders: expected a list of RFC 6749 scope tokens',
    );
  });
});
