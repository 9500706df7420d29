/**
 * How the bench's child servers talk to the bench: each prints one JSON line
 * `{"ready": {...}}` on stdout once it listens, and exits when its stdin
 * closes, so no child outlives the bench even if the bench is killed.
 */
export function announceReady(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: { pid: process.pid, ...details } })}\n`);
}

export function exitWithParent(cleanup: () => Promise<void> = async () => undefined): void {
  const stop = () => {
    cleanup().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
}
