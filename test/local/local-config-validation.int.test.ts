import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config';
import { canonicalJson, configStamp } from '../../src/config/config-stamp';
import { EnvNames } from '../../src/contract/env-names';
import { startLocalTollgate } from '../../src/local/local-tollgate';
import { startTestStore, type TestStore } from '../support/store';
import { testObservability } from '../support/tollgate';

/**
 * Local mode validates the config itself with the full schema, every time:
 * the synth stamp the deployed functions trust is no shortcut here.
 */
describe('local mode config validation', () => {
  let store: TestStore;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    store = await startTestStore();
  });
  afterAll(() => store.close());

  async function refusal(options: Parameters<typeof startLocalTollgate>[0]): Promise<readonly string[]> {
    try {
      const started = await startLocalTollgate({
        port: 0,
        dataDir: mkdtempSync(join(tmpdir(), 'tollgate-local-config-')),
        dynamodbEndpoint: store.endpoint,
        tables: store.tables,
        observability: testObservability(),
        ...options,
      });
      await started.close();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error('local mode started');
  }

  it('refuses an invalid config, every problem by path', async () => {
    const problems = await refusal({ config: { trust: [], signing: { alg: 'HS256' } } as never });

    expect(problems).toEqual(expect.arrayContaining(['trust: expected at least one trusted issuer', expect.stringMatching(/^signing\.alg: /)]));
  });

  it('validates a config that carries a valid synth stamp all the same', async () => {
    const text = canonicalJson({ trust: [], audience: '' });

    const problems = await refusal({ env: { [EnvNames.configJson]: text, [EnvNames.configStamp]: configStamp(text) } });

    expect(problems).toEqual(expect.arrayContaining(['trust: expected at least one trusted issuer', expect.stringMatching(/^audience: /)]));
  });
});
