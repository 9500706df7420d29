import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { configFromEnvironment } from '../app/config-environment';
import { EnvNames } from '../config/env-names';
import { systemClock } from '../domain/clock';
import { generateSigningJwk } from '../adapters/jwk-set';
import { rotationPolicyFor } from '../domain/key-set-rotation';
import { SecretsManagerRotationStore } from '../adapters/secrets-manager-rotation-store';
import { SigningKeyRotation, type RotationEvent } from '../services/signing-key-rotation';

/**
 * The signing key secret's rotation function, invoked by Secrets Manager for
 * each of the four steps. Built once per execution environment; the config
 * gives the algorithm of new keys and the access token lifetime that decides
 * how long a retired key stays published.
 */
const config = configFromEnvironment(process.env);
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'tollgate' });
const rotation = new SigningKeyRotation({
  store: new SecretsManagerRotationStore(new SecretsManagerClient({ endpoint: process.env[EnvNames.secretsManagerEndpoint] })),
  clock: systemClock,
  policy: rotationPolicyFor(config),
  generateKey: () => generateSigningJwk(config.signing.alg),
  log: logger,
});

export async function handler(event: RotationEvent): Promise<void> {
  logger.info('rotation step', { step: event.Step, versionId: event.ClientRequestToken });
  await rotation.run(event);
}
