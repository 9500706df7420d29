import { UnavailableError } from '../domain/errors';
import type { Clock } from '../domain/clock';
import type { SigningKeys, SigningKeySource } from '../ports/signing-keys';
import { importSigningKeys, parseSigningKeyDocument } from './jwk-set';

/**
 * Loads the signing key document through `readDocument` (Secrets Manager or a
 * file) and keeps it for `cacheMs`, so a rotation is picked up within that
 * time. A failed load is never cached: the next request tries again.
 * Concurrent callers share one load.
 */
export class CachedSigningKeySource implements SigningKeySource {
  private cached?: { keys: SigningKeys; loadedAt: number };
  private inflight?: Promise<SigningKeys>;

  constructor(
    private readonly readDocument: () => Promise<string>,
    private readonly clock: Clock,
    private readonly cacheMs = 300_000,
  ) {}

  async load(): Promise<SigningKeys> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.loadedAt < this.cacheMs) return this.cached.keys;
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<SigningKeys> {
    let text: string;
    try {
      text = await this.readDocument();
    } catch (error) {
      if (this.cached) return this.cached.keys; // keep serving the last good keys through a blip
      throw new UnavailableError('signing_keys', error, 1);
    }
    let keys: SigningKeys;
    try {
      keys = await importSigningKeys(parseSigningKeyDocument(text));
    } catch (error) {
      // A malformed document is an operator's mistake; answer 503 and say why in the log, never 500.
      throw new UnavailableError('signing_keys', error, 5);
    }
    this.cached = { keys, loadedAt: this.clock.now() };
    return keys;
  }
}
