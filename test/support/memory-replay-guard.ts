import type { ReplayGuard } from '../../src/ports/replay-guard';

/** A small fake of our own ReplayGuard port, for unit tests of services that use it. */
export class MemoryReplayGuard implements ReplayGuard {
  readonly entries = new Map<string, number>();
  constructor(private readonly nowSeconds: () => number) {}
  async claim(key: string, expiresAt: number): Promise<boolean> {
    const existing = this.entries.get(key);
    if (existing !== undefined && existing > this.nowSeconds()) return false;
    this.entries.set(key, expiresAt);
    return true;
  }
  async release(key: string): Promise<void> {
    this.entries.delete(key);
  }
  async hasAny(keys: readonly string[]): Promise<boolean> {
    return keys.some((key) => (this.entries.get(key) ?? 0) > this.nowSeconds());
  }
}
