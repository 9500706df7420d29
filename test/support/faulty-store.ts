import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../src/adapters/dynamo-client';
import { ensureTables } from '../../src/local/tables';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { startTestStore, type TestStore } from './store';

/** A store of its own behind a fault proxy, and the lean document client that reaches it through the proxy. */
export interface FaultyStore {
  store: TestStore;
  faults: FaultProxy;
  client: DynamoDBDocumentClient;
  /** Back to a healthy proxy (no rule, mode `up`): call it after each test. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the store (its own, so an outage touches no other suite), the proxy and the client; the tables exist. */
export async function startFaultyStore(): Promise<FaultyStore> {
  const store = await startTestStore({ own: true });
  const faults = await startFaultProxy(store.endpoint);
  const client = createDocumentClient({ endpoint: faults.endpoint });
  const direct = createDocumentClient({ endpoint: store.endpoint });
  await ensureTables(direct, store.tables);
  direct.destroy();
  return {
    store,
    faults,
    client,
    async heal() {
      faults.failWhen(undefined);
      await faults.setMode('up');
    },
    async close() {
      client.destroy();
      await faults.close();
      await store.close();
    },
  };
}
