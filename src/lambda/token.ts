import { createTokenHandler } from '../handlers/token-handler';
import { observability, services } from './runtime';

/** `POST /token`: token exchange. */
export const handler = createTokenHandler(services, observability, { grants: 'both' });
