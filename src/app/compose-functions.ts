import type { TollgateConfig } from '../config/config';
import { systemClock } from '../domain/clock';
import { resolveIssuer, secretRefsFor, signingKeysFor, telemetryFor, type Runtime } from './runtime';
import {
  createProxyServices,
  createRevokeServices,
  createTokenServices,
  createVerifyServices,
  type ProxyServices,
  type RevokeServices,
  type TokenServices,
  type VerifyServices,
} from './services';
import { storeFor } from './store';

/*
 * The composition roots of the store-backed Lambda functions, one per job.
 * Each takes the config its entry module read once (`configFromStamp`) and
 * builds the adapters its services need, once per execution environment. An
 * entry module calls only its own, so esbuild keeps only what that function
 * serves (docs/performance.md, "Bundles per function").
 */

/** Config, issuer, clock and signing keys: what every token-checking function starts from. */
function keyDeps(config: TollgateConfig, runtime: Runtime) {
  return { config, issuer: resolveIssuer(config, runtime.env), clock: runtime.clock ?? systemClock, signingKeys: signingKeysFor(runtime) };
}

/** `POST /verify`: reads sessions. */
export function composeVerify(config: TollgateConfig, runtime: Runtime): VerifyServices {
  return createVerifyServices({ ...keyDeps(config, runtime), sessions: storeFor(runtime).sessions() });
}

/** `POST /revoke`: reads and ends sessions. */
export function composeRevoke(config: TollgateConfig, runtime: Runtime): RevokeServices {
  return createRevokeServices({ ...keyDeps(config, runtime), sessions: storeFor(runtime).sessions(), telemetry: telemetryFor(runtime.observability) });
}

/** `POST /token` (the token and refresh functions): sessions, the replay guard and the rate limiter. */
export function composeToken(config: TollgateConfig, runtime: Runtime): TokenServices {
  const store = storeFor(runtime);
  return createTokenServices({
    ...keyDeps(config, runtime),
    fetch: runtime.fetch,
    sessions: store.sessions(),
    ...store.guards(config.rateLimit),
    telemetry: telemetryFor(runtime.observability),
  });
}

/** `ANY /proxy/{proxy+}`: reads sessions; DPoP markers and rate-limit counters in the guards table; upstream credentials. */
export function composeProxy(config: TollgateConfig, runtime: Runtime): ProxyServices {
  const store = storeFor(runtime);
  return createProxyServices({
    ...keyDeps(config, runtime),
    fetch: runtime.fetch,
    sessions: store.sessions(),
    ...store.guards(config.rateLimit),
    secrets: secretRefsFor(runtime),
    telemetry: telemetryFor(runtime.observability),
  });
}
