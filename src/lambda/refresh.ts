import { composeToken } from '../app/compose-functions';
import { createTokenHandler } from '../handlers/token-handler';
import { config, observability, runtime } from './runtime';

/** `refresh_token` grants of `POST /token`. */
export const handler = createTokenHandler(composeToken(config, runtime), observability, { grants: 'refresh' });
