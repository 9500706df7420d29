import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startTokenSuite, REPO, type TokenSuite } from '../integration/token-fixtures';
import { startActionsOidcServer, type ActionsOidcServer } from '../cli/actions-oidc-server';
import { parseInputs, runAction, type ActionRuntime } from '../../src/action/run-action';

type Call = [method: string, ...args: string[]];

/** An `ActionRuntime` that records every call in order (the file commands are what it would have written). */
function recordingRuntime(env: Record<string, string>, inputs: Record<string, string>, state: Record<string, string> = {}) {
  const calls: Call[] = [];
  const record =
    (method: string) =>
    (...args: string[]) => {
      calls.push([method, ...args]);
    };
  const runtime: ActionRuntime = {
    getInput: (name) => inputs[name] ?? '',
    getState: (name) => state[name] ?? '',
    setSecret: record('setSecret'),
    setOutput: record('setOutput'),
    exportVariable: record('exportVariable'),
    saveState: (name, value) => {
      calls.push(['saveState', name, value]);
      state[name] = value;
    },
    info: record('info'),
    warning: record('warning'),
    startGroup: record('startGroup'),
    endGroup: record('endGroup'),
    setFailed: record('setFailed'),
    env,
    fetch: globalThis.fetch,
    now: () => Date.now(),
    sleep: async () => undefined,
  };
  return { runtime, calls, state };
}

describe('the action step by step (src/action/run-action.ts, in process, against the local server)', () => {
  let suite: TokenSuite;
  let oidc: ActionsOidcServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    suite = await startTokenSuite();
    oidc = await startActionsOidcServer(suite.github, REPO);
    env = { ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken, RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'tollgate-action-')) };
  });
  afterAll(async () => {
    await oidc?.close();
    await suite?.close();
  });

  it('masks both tokens before a token is written anywhere: outputs, environment, state or log', async () => {
    const { runtime, calls } = recordingRuntime(env, { url: suite.tollgate.baseUrl });

    await runAction(runtime);

    const secrets = calls.filter(([method]) => method === 'setSecret').map(([, value]) => value!);
    expect(secrets).toHaveLength(2);
    const firstWriteOfAToken = calls.findIndex(([method, ...args]) => method !== 'setSecret' && args.some((arg) => secrets.some((secret) => arg.includes(secret))));
    const lastMask = calls.map(([method]) => method).lastIndexOf('setSecret');
    expect(firstWriteOfAToken).toBeGreaterThan(lastMask);
    expect(calls.filter(([method]) => method === 'info' || method === 'warning').some(([, message]) => secrets.some((secret) => message!.includes(secret)))).toBe(false);
    expect(calls.find(([method]) => method === 'setFailed')).toBeUndefined();
  });

  it('runs the post step when the main step saved a session, and does nothing when it failed before one', async () => {
    const main = recordingRuntime(env, { url: suite.tollgate.baseUrl });
    await runAction(main.runtime);
    const accessToken = main.calls.find(([method, name]) => method === 'setOutput' && name === 'access-token')![2]!;

    const post = recordingRuntime(env, { url: suite.tollgate.baseUrl }, { ...main.state });
    await runAction(post.runtime);
    const failedMain = recordingRuntime({}, { url: suite.tollgate.baseUrl });
    await runAction(failedMain.runtime);
    const postOfFailed = recordingRuntime({}, { url: suite.tollgate.baseUrl }, { ...failedMain.state });
    await runAction(postOfFailed.runtime);

    expect(post.calls).toContainEqual(['info', 'Tollgate session revoked (RFC 7009)']);
    expect((await suite.tollgate.verify(accessToken)).json).toEqual({ active: false });
    expect(failedMain.calls.find(([method]) => method === 'setFailed')?.[1]).toMatch(/id-token: write/);
    expect(postOfFailed.calls).toEqual([]);
  });

  it.each([
    [{ url: '' }, 'the url input is required'],
    [{ url: 'http://tollgate.example.com' }, 'url: baseUrl must be https://'],
    [{ url: 'https://t.example.com', 'export-env': 'yes' }, 'export-env: expected true or false'],
    [{ url: 'https://t.example.com', attempts: '0' }, 'attempts: expected a whole number from 1 to 10'],
    [{ url: 'https://t.example.com', 'attempt-timeout-seconds': '1.5' }, 'attempt-timeout-seconds: expected a whole number from 1 to 120'],
  ])('refuses the inputs %j: %s', (inputs, message) => {
    expect(() => parseInputs({ getInput: (name) => (inputs as Record<string, string>)[name] ?? '' })).toThrow(message);
  });

  it('takes the documented defaults', () => {
    expect(parseInputs({ getInput: (name) => (name === 'url' ? 'https://auth.example.com/' : '') })).toEqual({
      url: 'https://auth.example.com',
      audience: 'tollgate',
      scope: undefined,
      exportEnv: true,
      revoke: true,
      attempts: 4,
      attemptTimeoutMs: 10_000,
    });
  });
});
