import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
/** Under node_modules (git-ignored), so the bundles resolve their packages from the project's node_modules. */
const OUT_DIR = join(BENCH_DIR, '..', 'node_modules', '.cache', 'tollgate-bench');

export type ChildName = 'upstream' | 'minimal-proxy' | 'tollgate-server' | 'store' | 'oidc-provider';

/**
 * Bundles the child servers (our TypeScript only; packages stay external) so
 * they run on plain Node: no TypeScript loader thread in the process whose
 * memory and CPU the bench measures.
 */
export async function buildChildren(): Promise<Record<ChildName, string>> {
  const names: ChildName[] = ['upstream', 'minimal-proxy', 'tollgate-server', 'store', 'oidc-provider'];
  await build({
    entryPoints: names.map((name) => join(BENCH_DIR, 'servers', `${name}.ts`)),
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'error',
  });
  return Object.fromEntries(names.map((name) => [name, join(OUT_DIR, `${name}.mjs`)])) as Record<ChildName, string>;
}

export interface Child<T> {
  pid: number;
  ready: T;
  /** Resident set size now and its peak since the process started (Linux /proc), in bytes. */
  memory(): { rss: number; peakRss: number } | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a child server and waits (at most `timeoutMs`) for its ready line.
 * With `BENCH_CHILD_CPU_PROF=<dir>` each child writes a V8 CPU profile there
 * when it exits (read it with `bench/profile-summary.ts`).
 */
export async function startChild<T>(script: string, env: Record<string, string>, timeoutMs = 20_000): Promise<Child<T>> {
  const profileDir = process.env.BENCH_CHILD_CPU_PROF;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${basename(script, '.mjs')}-${Date.now()}.cpuprofile`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script}: not ready within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script}: exited with ${code} before it was ready`));
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { ready: T }).ready);
      } catch {
        reject(new Error(`${script}: unexpected first line ${line.slice(0, 200)}`));
      }
    });
  });
  lines.on('line', () => undefined);
  const pid = child.pid!;
  return {
    pid,
    ready,
    memory: () => readMemory(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      }),
  };
}

function readMemory(pid: number): { rss: number; peakRss: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}
