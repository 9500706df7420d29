import { composeToken } from '../app/compose-functions';
import { refreshDelegateFor } from '../app/refresh-delegate';
import { createTokenHandler } from '../handlers/token-handler';
import { config, observability, runtime } from './runtime';

/**
 * `POST /token`: token exchange here; `refresh_token` grants go to the
 * refresh function, which alone may update sessions (its Lambda client is
 * loaded on the first refresh grant, off the exchange path).
 */
export const handler = createTokenHandler(composeToken(config, runtime), observability, {
  grants: 'exchange',
  delegateRefresh: refreshDelegateFor(runtime),
});
