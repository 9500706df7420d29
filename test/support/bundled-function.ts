import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Node 22 from the `node` devDependency (the Lambda runtime's major the repository tests on), whatever node runs Jest. */
export const NODE_22 = join(__dirname, '..', '..', 'node_modules', 'node', 'bin', 'node');

export interface BundledFunction {
  name: string;
  /** `process.version` of the child. */
  node: string;
  /** Invokes the handler with one event; rejects with the handler's error. */
  invoke(event: unknown): Promise<unknown>;
  /** Everything the function wrote (stdout and stderr), line by line. */
  output: string[];
  close(): Promise<void>;
}

export interface BundledFunctionOptions {
  name: string;
  /** The asset directory (Lambda's task root). */
  taskRoot: string;
  /** The function's `Handler` setting, e.g. `index.handler`. */
  handler: string;
  /** The whole environment of the process: nothing is inherited from the test. */
  env: Record<string, string>;
  /** Bound on the cold start and on each invocation. @default 20_000 */
  timeoutMs?: number;
}

/**
 * Loads a Lambda bundle in a fresh Node process (test/support/lambda-runner.mjs)
 * and invokes it over IPC: a wrong handler path, a missing environment
 * variable or a bundling mistake fails the cold start here, as it would in
 * Lambda.
 */
export async function startBundledFunction(options: BundledFunctionOptions): Promise<BundledFunction> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const output: string[] = [];
  const child: ChildProcess = fork(join(__dirname, 'lambda-runner.mjs'), [options.taskRoot, options.handler], {
    execPath: NODE_22,
    env: options.env,
    cwd: options.taskRoot,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);

  const node = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name}: no cold start within ${timeoutMs} ms\n${output.join('\n')}`)), timeoutMs);
    child.once('message', (message: { type: string; node?: string; error?: { message: string } }) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.node!);
      else reject(new Error(`${options.name}: init failed: ${message.error?.message}\n${output.join('\n')}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name}: exited during init (${code})\n${output.join('\n')}`));
    });
  });

  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  child.on('message', (message: { id?: number; result?: unknown; error?: { name: string; message: string } }) => {
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error) waiter.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
    else waiter.resolve(message.result);
  });
  child.on('exit', () => {
    for (const waiter of pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${options.name}: process exited`));
    }
    pending.clear();
  });

  return {
    name: options.name,
    node,
    output,
    invoke(event) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.send({ id, event });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
