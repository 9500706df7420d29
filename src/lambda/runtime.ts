import { createObservability, servicesFromEnvironment } from '../app/environment';

/**
 * Built once per Lambda execution environment, at cold start: config parsed and
 * validated (an invalid config fails the init loudly), clients created.
 */
export const observability = createObservability();
export const services = servicesFromEnvironment(process.env, observability);
