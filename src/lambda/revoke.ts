import { composeRevoke } from '../app/compose-functions';
import { createRevokeHandler } from '../handlers/revoke-handler';
import { config, observability, runtime } from './runtime';

/** `POST /revoke`: ends sessions. */
export const handler = createRevokeHandler(composeRevoke(config, runtime), observability);
