import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed bundle action.yml runs (`runs.main` and `runs.post`). */
export const ACTION_BUNDLE = fileURLToPath(new URL('../../dist/action/index.mjs', import.meta.url));

export interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the step wrote to GITHUB_OUTPUT. */
  outputs: Record<string, string>;
}

/**
 * A GitHub Actions job as the runner runs a JavaScript action: each step is
 * a fresh `node <bundle>` with the inputs as `INPUT_<NAME>`, the file
 * commands' files (`GITHUB_OUTPUT` per step; `GITHUB_ENV` and `GITHUB_STATE`
 * for the job), variables a step exported to `GITHUB_ENV` in the environment
 * of every later step, and the state the main step saved as `STATE_<name>`
 * in its post step.
 */
export class SimulatedRunner {
  readonly dir = mkdtempSync(join(tmpdir(), 'tollgate-runner-'));
  readonly githubEnv = join(this.dir, 'github-env');
  readonly githubState = join(this.dir, 'github-state');
  readonly runnerTemp = join(this.dir, 'runner-temp');
  private steps = 0;

  constructor(
    private readonly bundle: string,
    private readonly jobEnv: Record<string, string>,
  ) {
    writeFileSync(this.githubEnv, '');
    writeFileSync(this.githubState, '');
    mkdirSync(this.runnerTemp);
  }

  /** The job's environment as a later step sees it: the job's own plus what earlier steps exported. */
  environment(): Record<string, string> {
    return { ...this.jobEnv, ...fileCommands(this.githubEnv) };
  }

  /** The main step of the action with these inputs. */
  main(inputs: Record<string, string>): Promise<StepResult> {
    return this.step(this.bundle, inputs, {});
  }

  /** The post step: the same inputs, and the state the main step saved. */
  post(inputs: Record<string, string>): Promise<StepResult> {
    const state = Object.fromEntries(Object.entries(fileCommands(this.githubState)).map(([name, value]) => [`STATE_${name}`, value]));
    return this.step(this.bundle, inputs, state);
  }

  /** Any other step: a Node script (the `tollgate` CLI, say) with the job's environment. */
  run(script: string, args: string[]): Promise<StepResult> {
    return this.step(script, {}, {}, args);
  }

  private async step(script: string, inputs: Record<string, string>, extra: Record<string, string>, args: string[] = []): Promise<StepResult> {
    const githubOutput = join(this.dir, `github-output-${++this.steps}`);
    writeFileSync(githubOutput, '');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      GITHUB_ACTIONS: 'true',
      RUNNER_TEMP: this.runnerTemp,
      ...this.environment(),
      GITHUB_ENV: this.githubEnv,
      GITHUB_STATE: this.githubState,
      GITHUB_OUTPUT: githubOutput,
      ...extra,
    };
    // The runner's naming: upper case, spaces to underscores, hyphens kept.
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [script, ...args], { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout: out, stderr: err });
      });
    });
    return { code, stdout, stderr, outputs: fileCommands(githubOutput) };
  }
}

/**
 * Reads a file-command file as the runner does: `name<<DELIMITER` … `DELIMITER`
 * blocks (what `@actions/core` writes) and plain `NAME=value` lines (what the
 * `tollgate` CLI writes); later entries win.
 */
export function fileCommands(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const heredoc = line.match(/^([^=<]+)<<(.+)$/);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const body: string[] = [];
      while (++index < lines.length && lines[index] !== delimiter) body.push(lines[index]!);
      values[name!] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}
