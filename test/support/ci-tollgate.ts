import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import type { TestClock } from './clock';
import { postForm } from './http';
import { startTestIssuers, type TestIssuerServer } from './test-issuer';
import { startTestStore, type TestStore } from './store';
import { EXCHANGE, testObservability } from './tollgate';

export interface CiTollgate {
  tollgate: LocalTollgate;
  issuers: TestIssuerServer;
  dataDir: string;
  /** Exchanges a fresh GitHub Actions token of repository 74 for a Tollgate access token. */
  accessToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A running Tollgate that trusts one GitHub-like test issuer: repository 74
 * gets `scopes`. For suites that need real access tokens (verifier,
 * authorizer) rather than the token service itself.
 */
export async function startCiTollgate(clock: TestClock, scopes: string[]): Promise<CiTollgate> {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const issuers = await startTestIssuers(['github']);
  const store: TestStore = await startTestStore();
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-ci-'));
  const tollgate = await startLocalTollgate({
    port: 0,
    dataDir,
    dynamodbEndpoint: store.endpoint,
    tables: store.tables,
    clock,
    observability: testObservability(),
    config: {
      trust: [
        {
          name: 'github',
          issuer: issuers.issuers.github!.issuer,
          kind: 'ci',
          audiences: ['tollgate'],
          singleUse: false,
          rules: [{ claims: { repository_id: '74' }, scopes }],
        },
      ],
    },
  });
  return {
    tollgate,
    issuers,
    dataDir,
    async accessToken() {
      const github = issuers.issuers.github!;
      const subject = await github.sign(githubActionsClaims(github.issuer, Math.floor(clock.now() / 1000), { repositoryId: '74' }));
      const answer = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
      if (answer.status !== 200) throw new Error(`exchange failed: ${answer.text}`);
      return answer.json.access_token as string;
    },
    async close() {
      await tollgate.close();
      await store.close();
      await issuers.close();
    },
  };
}
