import { format } from 'node:util';

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug' | 'trace';
const CONSOLE_METHODS: ConsoleMethod[] = ['log', 'info', 'warn', 'error', 'debug', 'trace'];

/** Everything the process wrote while a capture ran: what log-hygiene tests search for secrets. */
export interface LogCapture {
  /** All captured output, in order. */
  text(): string;
  /** The captured lines that are JSON objects (Powertools' structured log lines). */
  entries(): Record<string, unknown>[];
  /** Values of `secrets` that appear in the captured output (each reported once). */
  leaks(secrets: Iterable<string>): string[];
  stop(): void;
}

/**
 * Captures what the process writes to stdout and stderr and through the
 * global `console` (Powertools' Logger writes through its own Console on the
 * process streams; the AWS SDK warns through `console`), so a test can assert
 * that no token, secret or Authorization value was ever logged. Nothing is
 * shown while capturing, unless `TOLLGATE_TEST_LOG_LEVEL` is set.
 */
export function captureLogs(): LogCapture {
  const chunks: string[] = [];
  const echo = Boolean(process.env.TOLLGATE_TEST_LOG_LEVEL);
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const consoleMethods = new Map(CONSOLE_METHODS.map((method) => [method, console[method]]));

  const intercept = (original: typeof process.stdout.write, stream: NodeJS.WriteStream) =>
    function (this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      if (echo) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    } as typeof process.stdout.write;
  process.stdout.write = intercept(stdoutWrite, process.stdout);
  process.stderr.write = intercept(stderrWrite, process.stderr);
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
      if (echo) consoleMethods.get(method)!.apply(console, args);
    };
  }

  let stopped = false;
  return {
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .flatMap((line) => {
          try {
            const parsed: unknown = JSON.parse(line);
            return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? [parsed as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        }),
    leaks(secrets) {
      const text = chunks.join('');
      return [...new Set(secrets)].filter((secret) => secret !== '' && text.includes(secret));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
      for (const [method, original] of consoleMethods) console[method] = original;
    },
  };
}
