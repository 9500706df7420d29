import type { VerifyServices } from '../app/services';
import { readParameters, required } from '../http/form';
import { httpHandler, type Observability } from '../http/middleware';
import { json } from '../http/responses';

/**
 * `POST /verify`: RFC 7662 introspection. `token_type_hint` is accepted and
 * not needed: Tollgate tells its token kinds apart by shape.
 */
export function createVerifyHandler(services: VerifyServices, observability: Observability) {
  return httpHandler(observability, async (event) => {
    const parameters = readParameters(event);
    const token = required(parameters, 'token');
    const result = await services.introspection.introspect(token, (detail) =>
      observability.logger.info('introspection inactive', { detail }),
    );
    return json(200, result);
  });
}
