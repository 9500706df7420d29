import { ConfigError } from '../../src/config/config';
import { EnvNames } from '../../src/contract/env-names';
import { configFromStamp } from '../../src/app/deployed-config';
import { canonicalJson, configStamp, CONFIG_SCHEMA_VERSION } from '../../src/config/config-stamp';
import { deployConfigFromText } from '../../src/config/deploy-config';
import { FULL_CONFIG } from '../cdk/test-configs';

/** The environment synth gives a function: the validated config and its stamp. */
function synthEnvironment(): Record<string, string> {
  const deploy = deployConfigFromText(JSON.stringify(FULL_CONFIG), 'tollgate.config.json');
  return { [EnvNames.configJson]: deploy.functionConfigJson, [EnvNames.configStamp]: deploy.functionConfigStamp };
}

function refusal(env: Record<string, string | undefined>): string {
  try {
    configFromStamp(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('the config was accepted');
}

describe('configFromStamp (a deployed function\'s init)', () => {
  it('returns the values synth validated, defaults included, frozen', () => {
    const deploy = deployConfigFromText(JSON.stringify(FULL_CONFIG), 'tollgate.config.json');
    const { aws: _deployOnly, ...forFunctions } = deploy.config;

    const config = configFromStamp(synthEnvironment());

    expect(config).toEqual(forFunctions);
    expect(config.signing.alg).toBe('RS256');
    expect(config.sessions.ci.maxRefreshes).toBe(8);
    expect(Object.isFrozen(config.trust[0]!.rules)).toBe(true);
  });

  it('refuses a config without a stamp: it never passed synth validation', () => {
    const env = synthEnvironment();
    delete env[EnvNames.configStamp];

    expect(refusal(env)).toContain(`${EnvNames.configStamp} is not set: this function runs only a config validated by cdk synth`);
  });

  it('refuses a config document as written (not validated, no defaults), even with a stamp of its own text from another version', () => {
    const text = JSON.stringify({ trust: FULL_CONFIG.trust });

    expect(refusal({ [EnvNames.configJson]: text, [EnvNames.configStamp]: configStamp(text, CONFIG_SCHEMA_VERSION + 1) })).toContain(
      `the config was validated for config schema v${CONFIG_SCHEMA_VERSION + 1}, this function reads v${CONFIG_SCHEMA_VERSION}`,
    );
  });

  it('refuses a config edited after synth (an environment variable changed in the console)', () => {
    const env = synthEnvironment();
    env[EnvNames.configJson] = env[EnvNames.configJson]!.replace('"accessTokenTtlSeconds":900', '"accessTokenTtlSeconds":86400');

    expect(refusal(env)).toContain(`${EnvNames.configJson} was changed after cdk synth validated it`);
  });

  it('refuses a stamp that is not one', () => {
    expect(refusal({ ...synthEnvironment(), [EnvNames.configStamp]: 'trust me' })).toContain('is not a Tollgate config stamp');
  });

  it('refuses a stamped config that lacks what the functions read (a schema change whose version was not bumped)', () => {
    const values = JSON.parse(synthEnvironment()[EnvNames.configJson]!) as Record<string, unknown>;
    delete values.signing;
    (values.trust as Record<string, unknown>[])[1]!.singleUse = 'no';
    const text = canonicalJson(values);

    const message = refusal({ [EnvNames.configJson]: text, [EnvNames.configStamp]: configStamp(text) });

    expect(message).toContain('signing: missing or of the wrong type');
    expect(refusal({ [EnvNames.configJson]: canonicalJson({ ...values, signing: { alg: 'RS256' } }), [EnvNames.configStamp]: configStamp(canonicalJson({ ...values, signing: { alg: 'RS256' } })) })).toContain(
      'trust[1].singleUse: missing or of the wrong type',
    );
  });

  it('refuses a missing config', () => {
    expect(refusal({})).toContain(`${EnvNames.configJson} must be set`);
  });
});
