import type { TollgateConfig } from '../config/config';
import { EnvNames } from '../contract/env-names';
import { systemClock } from '../domain/clock';
import { rotationPolicyFor } from '../domain/key-set-rotation';
import { SecretsManagerClient } from '../adapters/aws-secrets-manager';
import { generateSigningJwk } from '../adapters/jwk-set';
import { sdkCredentials } from '../adapters/sdk-credentials';
import { SecretsManagerRotationStore } from '../adapters/secrets-manager-rotation-store';
import { SigningKeyRotation } from '../services/signing-key-rotation';
import type { Runtime } from './runtime';

/**
 * The signing key secret's rotation function: Secrets Manager (3 attempts,
 * as the SDK's default, and `UNHURRIED_TIMEOUTS`: rotation is not on a
 * request's path), new keys of the configured `signing.alg`, and the access token lifetime that decides how long a
 * retired key stays published.
 */
export function composeKeyRotation(config: TollgateConfig, runtime: Runtime): SigningKeyRotation {
  const endpoint = runtime.env[EnvNames.secretsManagerEndpoint];
  const client = new SecretsManagerClient({ endpoint, region: runtime.env.AWS_REGION, credentials: sdkCredentials(runtime.env, endpoint) });
  return new SigningKeyRotation({
    store: new SecretsManagerRotationStore(client),
    clock: runtime.clock ?? systemClock,
    policy: rotationPolicyFor(config),
    generateKey: () => generateSigningJwk(config.signing.alg),
    alg: config.signing.alg,
    log: runtime.observability.logger,
  });
}
