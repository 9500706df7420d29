import type { StoredTokens, TokenStorage } from './token-storage';

/** How long a tab waits, after winning the renewal lock, for the tokens of a session another tab says it holds. */
const CATCH_UP_TIMEOUT_MS = 2_000;

type Message =
  /** A tab's state: generation `gen` of the session (`tokens` undefined: signed out or ended). */
  | { type: 'state'; gen: number; tokens?: StoredTokens }
  /** A tab asks for generation `gen` or newer (a tab opened later, or one that won the lock first). */
  | { type: 'want'; gen: number };

/** What tab sharing needs from the browser: Web Locks (with `query`) and BroadcastChannel. */
export function canShareBetweenTabs(): boolean {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  return typeof BroadcastChannel === 'function' && typeof locks?.request === 'function' && typeof locks.query === 'function';
}

/**
 * Shares one session between the open tabs of an origin, in their memory
 * only (no `localStorage`, no IndexedDB): a `BroadcastChannel` carries each
 * new token set to every tab, and an exclusive Web Lock serialises renewals,
 * so one tab refreshes per expiry and the others adopt its tokens.
 *
 * The ordering that makes it exact: a lock can be granted to the next tab
 * before that tab has received the broadcast of the one before (they travel
 * on different channels). So every tab holding generation `n` of the session
 * also holds a shared Web Lock named after `n`; the lock manager is one
 * ordered authority, so a tab that wins the renewal lock asks it
 * (`navigator.locks.query()`) which generations exist. If a newer one than
 * its own does, it waits for those tokens (asking for them) instead of
 * renewing again with a refresh token another tab has already rotated. A tab
 * opened later finds the current generation the same way and reuses the
 * session instead of starting another.
 *
 * Sign-out (`save(undefined)`) is a generation too: every tab drops the
 * tokens.
 */
export function tabStorage(name: string): TokenStorage & { close(): void } {
  const channel = new BroadcastChannel(name);
  const locks = navigator.locks;
  const lockName = `${name}:renew`;
  const genPrefix = `${name}:gen:`;
  let gen = 0;
  let tokens: StoredTokens | undefined;
  let releaseGen: (() => void) | undefined;
  const waiters = new Set<() => void>();

  /** Holds the shared lock of generation `n` (released when a newer one is adopted, or when the tab goes away). */
  const holdGen = (n: number): Promise<void> =>
    new Promise((granted) => {
      const previous = releaseGen;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      releaseGen = release;
      void locks.request(`${genPrefix}${n}`, { mode: 'shared' }, () => {
        granted();
        previous?.();
        return held;
      });
    });

  const adopt = (next: number, state: StoredTokens | undefined): Promise<void> | undefined => {
    if (next <= gen) return undefined;
    gen = next;
    tokens = state;
    const held = holdGen(next);
    for (const wake of [...waiters]) wake();
    return held;
  };

  channel.onmessage = (event: MessageEvent<Message>) => {
    const message = event.data;
    if (message?.type === 'state') void adopt(message.gen, message.tokens);
    else if (message?.type === 'want' && gen > 0 && gen >= message.gen) channel.postMessage({ type: 'state', gen, tokens } satisfies Message);
  };
  // A tab opened later: ask the others for the session they hold.
  channel.postMessage({ type: 'want', gen: 1 } satisfies Message);

  /** The newest generation any tab holds, by the lock manager's own record. */
  const newestGen = async (): Promise<number> => {
    const snapshot = await locks.query();
    let newest = 0;
    for (const lock of snapshot.held ?? []) {
      if (lock.name?.startsWith(genPrefix)) newest = Math.max(newest, Number(lock.name.slice(genPrefix.length)) || 0);
    }
    return newest;
  };

  /** Waits (bounded) until this tab holds generation `target` or newer. */
  const catchUp = async (target: number): Promise<void> => {
    if (gen >= target) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        if (gen < target) return;
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        resolve();
      }, CATCH_UP_TIMEOUT_MS);
      waiters.add(done);
      channel.postMessage({ type: 'want', gen: target } satisfies Message);
    });
  };

  return {
    load: () => tokens,
    async save(next) {
      // Called inside the renewal lock: this tab holds the newest generation, so the next one is its successor.
      const successor = gen + 1;
      await adopt(successor, next);
      channel.postMessage({ type: 'state', gen: successor, tokens: next } satisfies Message);
    },
    lock: (task) =>
      locks.request(lockName, { mode: 'exclusive' }, async () => {
        await catchUp(await newestGen());
        return task();
      }),
    close() {
      channel.close();
      releaseGen?.();
    },
  };
}
