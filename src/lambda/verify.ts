import { verifyServicesFromEnvironment } from '../app/environment';
import { createVerifyHandler } from '../handlers/verify-handler';
import { observability } from './runtime';

/** `POST /verify`: introspection. Reads sessions, writes nothing. */
export const handler = createVerifyHandler(verifyServicesFromEnvironment(process.env), observability);
