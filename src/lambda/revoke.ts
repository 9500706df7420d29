import { revokeServicesFromEnvironment } from '../app/environment';
import { createRevokeHandler } from '../handlers/revoke-handler';
import { observability } from './runtime';

/** `POST /revoke`: ends sessions. */
export const handler = createRevokeHandler(revokeServicesFromEnvironment(process.env, observability), observability);
