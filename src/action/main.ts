import * as core from '@actions/core';
import { runAction } from './run-action';

/**
 * The GitHub Action's entry (action.yml `runs.main` and `runs.post`, both
 * `dist/action/index.mjs`, built by `npm run build:action`): the real
 * `@actions/core` file commands, the runner's environment, fetch and clock.
 */
await runAction({
  getInput: (name) => core.getInput(name),
  setSecret: (value) => core.setSecret(value),
  setOutput: (name, value) => core.setOutput(name, value),
  exportVariable: (name, value) => core.exportVariable(name, value),
  saveState: (name, value) => core.saveState(name, value),
  getState: (name) => core.getState(name),
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  startGroup: (name) => core.startGroup(name),
  endGroup: () => core.endGroup(),
  setFailed: (message) => core.setFailed(message),
  env: process.env,
  fetch: globalThis.fetch,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
