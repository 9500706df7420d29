import type { RevokeServices } from '../app/services';
import { readParameters, required } from '../http/form';
import { httpHandler, type Observability } from '../http/middleware';
import { NO_STORE } from '../http/responses';
import { BROWSER_ROUTES, corsPolicyFor } from '../services/cors-policy';

/**
 * `POST /revoke`: RFC 7009. Ends the whole session behind an access or
 * refresh token. §2.2: 200 for any well-formed request, even for an unknown,
 * foreign or already revoked token, so callers learn nothing from the answer.
 */
export function createRevokeHandler(services: RevokeServices, observability: Observability) {
  return httpHandler(observability, async (event) => {
    const parameters = readParameters(event);
    const sid = await services.revocation.revoke(required(parameters, 'token'));
    if (sid) services.gate.forget(sid);
    return { statusCode: 200, headers: { ...NO_STORE }, body: '' };
  }, {}, { rules: corsPolicyFor(services.config), route: BROWSER_ROUTES.revoke });
}
