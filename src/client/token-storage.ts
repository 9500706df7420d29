/** The tokens of one Tollgate session, as the client keeps them. */
export interface StoredTokens {
  accessToken: string;
  /** Absent only when the server issued none. */
  refreshToken?: string;
  /** When the access token was received, in milliseconds of the client's clock. */
  obtainedAt: number;
  /** When the access token expires (`obtainedAt + expires_in`), in milliseconds of the client's clock. */
  expiresAt: number;
  /** The granted scope, space-separated. */
  scope?: string;
  /** `DPoP` when the tokens are bound to the client's DPoP key (RFC 9449); absent means `Bearer`. */
  tokenType?: 'Bearer' | 'DPoP';
  /**
   * The key pair DPoP-bound tokens are bound to (non-extractable with
   * `dpop: true`), so whoever holds the tokens can sign proofs with it: tabs
   * sharing a session get it by structured clone. A storage that writes JSON
   * drops it; such tokens then fail their next proof.
   */
  dpopKey?: CryptoKeyPair;
}

/**
 * Where the client keeps its tokens. The default keeps them in memory, in
 * this client only. Supply your own to share one session between tabs or
 * workers (see docs/client.md for a BroadcastChannel and Web Locks example):
 * the client reads `load()` before every call, so a session renewed elsewhere
 * is picked up at once.
 *
 * Prefer memory over `localStorage`: a refresh token there is readable by any
 * script that runs on the page.
 */
export interface TokenStorage {
  load(): StoredTokens | undefined | Promise<StoredTokens | undefined>;
  /** `undefined` clears the tokens (after `revoke()`, or when the session ended). */
  save(tokens: StoredTokens | undefined): void | Promise<void>;
  /**
   * Optional mutual exclusion across holders of the same storage (other tabs):
   * the client renews inside `lock`, and re-reads the storage first, so only
   * one holder refreshes a given refresh token. Within one client renewals
   * are single-flight without it.
   */
  lock?<T>(task: () => Promise<T>): Promise<T>;
}

/** Keeps the tokens in this client's memory only. */
export function memoryStorage(initial?: StoredTokens): TokenStorage {
  let tokens = initial;
  return {
    load: () => tokens,
    save: (next) => {
      tokens = next;
    },
  };
}
