import { createRevokeHandler } from '../handlers/revoke-handler';
import { observability, services } from './runtime';

export const handler = createRevokeHandler(services, observability);
