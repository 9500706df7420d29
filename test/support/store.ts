import { randomBytes } from 'node:crypto';
import { startEmbeddedStore } from '../../src/local/embedded-store';

/** Set by `npm run test:dynamodb-local` (global setup): run the suites against DynamoDB Local instead of dynalite. */
export const DYNAMODB_LOCAL_ENDPOINT_ENV = 'TOLLGATE_TEST_DYNAMODB_ENDPOINT';

export interface TestStore {
  endpoint: string;
  /** Table names unique to this suite, so suites can share one DynamoDB Local. */
  tables: { sessions: string; guards: string };
  kind: 'dynalite' | 'dynamodb-local';
  close(): Promise<void>;
}

/**
 * A real DynamoDB-protocol server on loopback: DynamoDB Local when configured,
 * else a fresh dynalite. `own` asks for a store this suite alone can stop (an
 * outage test): always a fresh dynalite, since the shared DynamoDB Local must
 * keep serving the other suites.
 */
export async function startTestStore(options: { own?: boolean } = {}): Promise<TestStore> {
  const suffix = randomBytes(4).toString('hex');
  const tables = { sessions: `sessions-${suffix}`, guards: `guards-${suffix}` };
  const shared = process.env[DYNAMODB_LOCAL_ENDPOINT_ENV];
  if (shared && !options.own) return { endpoint: shared, tables, kind: 'dynamodb-local', close: async () => undefined };
  const store = await startEmbeddedStore();
  return { endpoint: store.endpoint, tables, kind: 'dynalite', close: store.close };
}
