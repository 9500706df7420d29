import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `bin` entry of package.json. */
export const BIN = join(__dirname, '../../src/cli/tollgate.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `tollgate` command as a child process with exactly `env` (plus PATH/HOME), never the test's own environment. */
export function tollgate(args: string[], env: Record<string, string | undefined> = {}, stdin?: string, bin = BIN): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** `NAME=value` lines of a GITHUB_ENV-style file; later lines win, as the runner reads them. */
export function assignments(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}
