import { EnvNames } from '../contract/env-names';
import { epochSeconds, systemClock } from '../domain/clock';
import { createStoreClient } from '../adapters/aws-dynamo-client';
import type { DynamoDBDocumentClient } from '../adapters/dynamo-commands';
import { DynamoRateLimiter, type LeaseSettings } from '../adapters/dynamo-rate-limiter';
import { DynamoReplayGuard } from '../adapters/dynamo-replay-guard';
import { DynamoSessionStore } from '../adapters/dynamo-session-store';
import { setting, type Runtime } from './runtime';

/** The store-backed adapters a composition needs: one document client, the sessions and guards tables. */
export interface StoreAdapters {
  client: DynamoDBDocumentClient;
  sessions(): DynamoSessionStore;
  /** Single-use markers in the guards table (assertion `jti`s, DPoP proofs, webhook deliveries). */
  replay(): DynamoReplayGuard;
  /** The guards table's two users: the replay guard (assertion `jti`s, DPoP proofs, webhook markers) and the rate limiter. */
  guards(lease?: Partial<LeaseSettings>): { replay: DynamoReplayGuard; rateLimiter: DynamoRateLimiter };
}

/** The DynamoDB adapters over one client (the runtime's, else one built from the environment). */
export function storeFor(runtime: Runtime): StoreAdapters {
  const { env } = runtime;
  const clock = runtime.clock ?? systemClock;
  const nowSeconds = () => epochSeconds(clock);
  const client = runtime.documentClient ?? createStoreClient({ endpoint: env[EnvNames.dynamodbEndpoint], region: env.AWS_REGION, env });
  return {
    client,
    sessions: () => new DynamoSessionStore(client, setting(runtime, EnvNames.sessionsTable), nowSeconds),
    replay: () => new DynamoReplayGuard(client, setting(runtime, EnvNames.guardsTable), nowSeconds),
    guards: (lease = {}) => {
      const table = setting(runtime, EnvNames.guardsTable);
      return {
        replay: new DynamoReplayGuard(client, table, nowSeconds),
        // Leased quota, claims sized by `rateLimit.leaseSeconds` and `rateLimit.maxClaimFraction`.
        rateLimiter: new DynamoRateLimiter(client, table, clock, lease),
      };
    },
  };
}
