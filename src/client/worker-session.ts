import { TollgateError, type TollgateErrorCode, type TollgateEndpoint } from './tollgate-error';
import type { StoredTokens } from './token-storage';
import type { RenewMode, SessionBackend } from './token-session';

/** The session's settings a tab hands the SharedWorker (plain data: they cross a MessagePort). */
export interface WorkerSessionSettings {
  baseUrl: string;
  scope?: string;
  clientId?: string;
  subjectTokenType?: string;
  marginMs: number;
  /** `true`: the worker makes the non-extractable DPoP key; or the app's key pair (structured clone keeps it non-extractable). Tabs get it with the tokens. */
  dpop?: true | CryptoKeyPair;
}

/** A `TollgateError` as plain data, to cross a MessagePort (a class instance arrives as a bare object). */
export interface SerializedError {
  code: TollgateErrorCode;
  endpoint: TollgateEndpoint;
  status: number;
  description?: string;
  retryAfterSeconds?: number;
}

export type TabToWorker =
  | { type: 'init'; name: string; settings: WorkerSessionSettings }
  | { type: 'call'; id: number; op: 'tokens' | 'renew' | 'revoke'; mode?: RenewMode; rejected?: string }
  | { type: 'subject'; id: number; token?: string; error?: SerializedError }
  | { type: 'bye' };

export type WorkerToTab = { type: 'result'; id: number; tokens?: StoredTokens; error?: SerializedError } | { type: 'subject?'; id: number };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof TollgateError) {
    const { code, endpoint, status, description, retryAfterSeconds } = error;
    return { code, endpoint, status, description, retryAfterSeconds };
  }
  return { code: 'UNEXPECTED_RESPONSE', endpoint: 'token', status: 0, description: String((error as Error)?.message ?? error).slice(0, 300) };
}

export function deserializeError(error: SerializedError): TollgateError {
  return new TollgateError(error.code, error);
}

/**
 * The tab's side of a session kept in a SharedWorker
 * (`shared-worker.ts`): one worker per origin and script URL holds the
 * tokens and runs every exchange, refresh and revocation for all tabs, so
 * there is exactly one refresh per expiry by construction. The tab asks it
 * for valid tokens before each call and answers its requests for a subject
 * token (the identity provider's SDK lives in the page).
 */
export class WorkerSession implements SessionBackend {
  private readonly port: MessagePort;
  private readonly pending = new Map<
    number,
    { op: 'tokens' | 'renew' | 'revoke'; mode?: RenewMode; rejected?: string; resolve: (tokens: StoredTokens | undefined) => void; reject: (error: Error) => void }
  >();
  private next = 0;
  /** Set when the worker script cannot run (a wrong URL, a CSP): the page's own session takes over. */
  private fallback?: SessionBackend;

  /** `fallback` builds the in-page session used if the worker fails to start. */
  constructor(url: string | URL, name: string, settings: WorkerSessionSettings, subjectToken: () => Promise<string>, fallback: () => SessionBackend) {
    const worker = new SharedWorker(url, { type: 'module', name: 'tollgate' });
    worker.onerror = () => {
      if (this.fallback) return;
      this.fallback = fallback();
      for (const [id, call] of this.pending) {
        this.pending.delete(id);
        this.run(this.fallback, call.op, call.mode, call.rejected).then(call.resolve, call.reject);
      }
    };
    this.port = worker.port;
    this.port.onmessage = (event: MessageEvent<WorkerToTab>) => {
      const message = event.data;
      if (message.type === 'result') {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiter?.reject(deserializeError(message.error));
        else waiter?.resolve(message.tokens);
      } else if (message.type === 'subject?') {
        subjectToken().then(
          (token) => this.post({ type: 'subject', id: message.id, token }),
          (error: unknown) => this.post({ type: 'subject', id: message.id, error: serializeError(error) }),
        );
      }
    };
    this.port.start();
    this.post({ type: 'init', name, settings });
    // The worker cannot see a tab close; say so, so it never asks this tab for a subject token again.
    globalThis.addEventListener?.('pagehide', () => this.post({ type: 'bye' }));
  }

  async tokens(): Promise<StoredTokens> {
    return (await this.call('tokens'))!;
  }

  async renew(mode: RenewMode, rejected?: string): Promise<StoredTokens> {
    return (await this.call('renew', mode, rejected))!;
  }

  async revoke(): Promise<void> {
    await this.call('revoke');
  }

  private call(op: 'tokens' | 'renew' | 'revoke', mode?: RenewMode, rejected?: string): Promise<StoredTokens | undefined> {
    if (this.fallback) return this.run(this.fallback, op, mode, rejected);
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, mode, rejected, resolve, reject });
      this.post({ type: 'call', id, op, mode, rejected });
    });
  }

  private async run(session: SessionBackend, op: 'tokens' | 'renew' | 'revoke', mode?: RenewMode, rejected?: string): Promise<StoredTokens | undefined> {
    if (op === 'tokens') return session.tokens();
    if (op === 'renew') return session.renew(mode ?? 'refresh', rejected);
    await session.revoke();
    return undefined;
  }

  private post(message: TabToWorker): void {
    this.port.postMessage(message);
  }
}
