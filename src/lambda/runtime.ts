import { createObservability } from '../app/config-environment';

/**
 * Built once per Lambda execution environment, at cold start. Each entry
 * module builds only its own function's services next to it (the
 * `…ServicesFromEnvironment` factories), so its bundle carries nothing the
 * function does not serve; an invalid config still fails the init loudly.
 */
export const observability = createObservability();
