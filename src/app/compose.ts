import type { TollgateConfig } from '../config/config';
import { systemClock } from '../domain/clock';
import { resolveIssuer, secretRefsFor, signingKeysFor, telemetryFor, type Runtime } from './runtime';
import { createServices, type Services } from './services';
import { storeFor } from './store';

/**
 * The composition root of every route in one process (the local server, the
 * benchmark): one config, parsed once by the caller, and the runtime's
 * adapters, wired by `createServices` with one session gate shared by every
 * route. A Lambda function composes only its own job instead
 * (`./compose-functions`, `./compose-metadata`, `./compose-clerk-webhook`,
 * `./compose-key-rotation`), so its bundle carries nothing else.
 */
export function compose(config: TollgateConfig, runtime: Runtime): Services {
  const store = storeFor(runtime);
  return createServices({
    config,
    issuer: resolveIssuer(config, runtime.env),
    clock: runtime.clock ?? systemClock,
    fetch: runtime.fetch,
    signingKeys: signingKeysFor(runtime),
    sessions: store.sessions(),
    ...store.guards(config.rateLimit),
    secrets: secretRefsFor(runtime),
    telemetry: telemetryFor(runtime.observability),
  });
}
