import { tokenServicesFromEnvironment } from '../app/environment';
import { createTokenHandler } from '../handlers/token-handler';
import { observability } from './runtime';

/** `refresh_token` grants of `POST /token`. */
export const handler = createTokenHandler(tokenServicesFromEnvironment(process.env, observability), observability, { grants: 'refresh' });
