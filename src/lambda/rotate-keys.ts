import { composeKeyRotation } from '../app/compose-key-rotation';
import type { RotationEvent } from '../services/signing-key-rotation';
import { config, observability, runtime } from './runtime';

/**
 * The signing key secret's rotation function, invoked by Secrets Manager for
 * each of the four steps. Built once per execution environment from the same
 * stamped config as the API functions: `signing.alg` for new keys, and the
 * access token lifetime that decides how long a retired key stays published.
 */
const rotation = composeKeyRotation(config, runtime);

export async function handler(event: RotationEvent): Promise<void> {
  observability.logger.info('rotation step', { step: event.Step, versionId: event.ClientRequestToken });
  await rotation.run(event);
}
