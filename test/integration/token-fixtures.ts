import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeJwt } from 'jose';
import type { TollgateConfigInput } from '../../src/config/config';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { clerkSessionClaims, githubActionsClaims, type ClerkTokenOptions, type GithubTokenOptions } from '../../src/local/dev-claims';
import type { Observability } from '../../src/http/middleware';
import type { TestClock } from '../support/clock';
import { startTestIssuers, type TestIssuer, type TestIssuerServer } from '../support/test-issuer';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';

/**
 * Shared set-up of the token-service integration suites: two real issuers
 * (GitHub-like, with an explicit `jwksUri`; Clerk-like, discovered), a whole
 * local Tollgate on loopback, and a direct client of its store to check what
 * was (or was not) written.
 */

/** The repository the GitHub rules trust (ids as GitHub sends them: strings). */
export const REPO = { repository: 'acme/app', repositoryId: '74', ownerId: '65' } as const;
export const APP_ORIGIN = 'https://app.example.com';

export function trustConfig(github: TestIssuer, clerk: TestIssuer): TollgateConfigInput['trust'] {
  return [
    {
      name: 'github',
      issuer: github.issuer,
      jwksUri: github.jwksUri,
      kind: 'ci',
      audiences: ['tollgate'],
      rules: [
        { claims: { repository_owner_id: REPO.ownerId }, scopes: ['orders:read'] },
        { claims: { repository_id: REPO.repositoryId, ref: 'refs/heads/main' }, scopes: ['orders:read', 'deploy'] },
      ],
    },
    {
      name: 'clerk',
      issuer: clerk.issuer,
      kind: 'user',
      authorizedParties: [APP_ORIGIN],
      rules: [
        { claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read', 'orders:write'] },
        { claims: { 'o.rol': ['admin', 'org:admin'] }, scopes: ['orders:admin'] },
      ],
    },
  ];
}

export interface TokenSuite {
  issuers: TestIssuerServer;
  github: TestIssuer;
  clerk: TestIssuer;
  tollgate: TestTollgate;
  db: DynamoDBDocumentClient;
  /** Epoch seconds on the suite's clock. */
  now(): number;
  githubToken(options?: GithubTokenOptions): Promise<string>;
  clerkToken(options?: ClerkTokenOptions): Promise<string>;
  /** Exchanges a fresh token of the kind and returns the 200 body (fails the test otherwise). */
  session(kind: 'ci' | 'user', extra?: Record<string, string>): Promise<TokenBody>;
  /** The stored session item, read strongly consistently. */
  item(sid: string): Promise<Record<string, unknown> | undefined>;
  /** Number of sessions, and of single-use markers in the guards table (rate-limit counters live there too and are not counted). */
  counts(): Promise<{ sessions: number; guards: number }>;
  close(): Promise<void>;
}

export interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  issued_token_type?: string;
}

export interface TokenSuiteOptions {
  clock?: TestClock;
  /** Merged over the default config (trust comes from `trustConfig`). */
  config?: Omit<TollgateConfigInput, 'trust'>;
  /** More issuers to start on the same server (e.g. one Tollgate does not trust). */
  extraIssuers?: string[];
  /** The server's logger and metrics (silent by default). */
  observability?: Observability;
  /** Changes the default trust entries (e.g. `dpop.required` on one). */
  trust?: (trust: TollgateConfigInput['trust']) => TollgateConfigInput['trust'];
  /** A store this suite alone can stop, for outage tests. */
  ownStore?: boolean;
}

export async function startTokenSuite(options: TokenSuiteOptions = {}): Promise<TokenSuite> {
  const issuers = await startTestIssuers(['github', 'clerk', ...(options.extraIssuers ?? [])]);
  const github = issuers.issuers.github!;
  const clerk = issuers.issuers.clerk!;
  const tollgate = await startTestTollgate({
    config: { ...options.config, trust: (options.trust ?? ((trust) => trust))(trustConfig(github, clerk)) },
    clock: options.clock,
    observability: options.observability,
    ownStore: options.ownStore,
  });
  const db = createDocumentClient({ endpoint: tollgate.storeEndpoint, region: 'local' });
  const now = () => Math.floor((options.clock ? options.clock.now() : Date.now()) / 1000);

  const count = async (table: string, pkPrefix?: string) => {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
          ...(pkPrefix
            ? { FilterExpression: 'begins_with(pk, :prefix)', ExpressionAttributeValues: { ':prefix': pkPrefix } }
            : {}),
        }),
      );
      total += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return total;
  };

  const suite: TokenSuite = {
    issuers,
    github,
    clerk,
    tollgate,
    db,
    now,
    githubToken: (githubOptions = {}) => github.sign(githubActionsClaims(github.issuer, now(), { ...REPO, ...githubOptions })),
    clerkToken: (clerkOptions = {}) => clerk.sign(clerkSessionClaims(clerk.issuer, now(), { azp: APP_ORIGIN, role: 'api-client', ...clerkOptions })),
    async session(kind, extra = {}) {
      const subject = kind === 'ci' ? await suite.githubToken() : await suite.clerkToken();
      const answer = await tollgate.exchange(subject, extra);
      if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
      return answer.json as TokenBody;
    },
    async item(sid) {
      const result = await db.send(new GetCommand({ TableName: tollgate.tables.sessions, Key: { sid }, ConsistentRead: true }));
      return result.Item;
    },
    async counts() {
      return { sessions: await count(tollgate.tables.sessions), guards: await count(tollgate.tables.guards, 'subject#') };
    },
    async close() {
      db.destroy();
      await tollgate.close();
      await issuers.close();
    },
  };
  return suite;
}

/** The `sid` an access token names. */
export function sidOf(accessToken: string): string {
  return decodeJwt(accessToken).sid as string;
}

/** The RFC 6749 §5.2 body Tollgate answers with. */
export function oauthError(error: string, description: string): { error: string; error_description: string } {
  return { error, error_description: description };
}
