import { EnvNames } from '../contract/env-names';
import type { HttpEvent, HttpResult } from '../http/api-event';
import { setting, type Runtime } from './runtime';

/**
 * The token function's refresh delegate, off the exchange path: the refresh
 * function's name is checked at init (a missing one fails the init loudly),
 * but the Lambda client module (`./lambda-refresh`) is imported and its client
 * built on the first refresh grant. Exchanges, the token function's own job,
 * never pay for either.
 */
export function refreshDelegateFor(runtime: Runtime): (event: HttpEvent) => Promise<HttpResult> {
  const functionName = setting(runtime, EnvNames.refreshFunctionName);
  let delegate: Promise<(event: HttpEvent) => Promise<HttpResult>> | undefined;
  return async (event) => {
    delegate ??= import('./lambda-refresh').then((module) => module.createRefreshDelegate(runtime.env, functionName));
    return (await delegate)(event);
  };
}
