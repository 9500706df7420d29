import { configFromStamp } from '../app/deployed-config';
import { createObservability, type Runtime } from '../app/runtime';

/**
 * Built once per Lambda execution environment, at init: the observability,
 * the config synth validated and stamped (checked here without the schema
 * library; one that did not pass synth stops the init with a `ConfigError`
 * saying why), and the runtime every entry module composes its own job from
 * (`src/app/compose-*.ts`), so its bundle carries nothing the function does
 * not serve.
 */
export const observability = createObservability();
export const config = configFromStamp(process.env);
export const runtime: Runtime = { env: process.env, observability };
