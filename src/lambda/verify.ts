import { composeVerify } from '../app/compose-functions';
import { createVerifyHandler } from '../handlers/verify-handler';
import { config, observability, runtime } from './runtime';

/** `POST /verify`: introspection. Reads sessions, writes nothing. */
export const handler = createVerifyHandler(composeVerify(config, runtime), observability);
