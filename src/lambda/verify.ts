import { createVerifyHandler } from '../handlers/verify-handler';
import { observability, services } from './runtime';

export const handler = createVerifyHandler(services, observability);
