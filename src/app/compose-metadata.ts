import type { TollgateConfig } from '../config/config';
import { resolveIssuer, signingKeysFor, type Runtime } from './runtime';
import type { MetadataServices } from './services';

/** `GET /.well-known/*`: config, issuer and signing keys; no store. */
export function composeMetadata(config: TollgateConfig, runtime: Runtime): MetadataServices {
  return { config, issuer: resolveIssuer(config, runtime.env), signingKeys: signingKeysFor(runtime) };
}
