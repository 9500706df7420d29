import { createTokenHandler } from '../handlers/token-handler';
import { observability, services } from './runtime';

/** `refresh_token` grants of `POST /token`. */
export const handler = createTokenHandler(services, observability, { grants: 'refresh' });
