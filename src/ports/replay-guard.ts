/** Remembers single-use values (subject token ids, DPoP proof ids) and short-lived markers until they expire. */
export interface ReplayGuard {
  /**
   * Records `key` until `expiresAt` (epoch seconds); false if it was already recorded and not expired.
   * A claim whose answer was lost is recognised as this claim (true), never as a replay of itself.
   */
  claim(key: string, expiresAt: number): Promise<boolean>;
  /** Forgets `key` (undo after a later step failed, so the client can retry). */
  release(key: string): Promise<void>;
  /** True when any of `keys` is recorded and not expired (one batched, strongly consistent read). */
  hasAny(keys: readonly string[]): Promise<boolean>;
}
