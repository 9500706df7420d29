/**
 * `tollgate/client/worker`: the SharedWorker script that keeps one Tollgate
 * session for every tab of an origin (`sharedWorker` option of
 * `createTollgateClient`). Serve this file from the app's own origin: a
 * SharedWorker is shared by the tabs that start it from the same URL, and its
 * requests to Tollgate carry that origin (CORS).
 */
import { DpopProver } from './dpop-prover';
import { resolveRetryOptions } from './retry-policy';
import { TollgateError } from './tollgate-error';
import { memoryStorage } from './token-storage';
import { TokenSession } from './token-session';
import { deserializeError, serializeError, type TabToWorker, type WorkerSessionSettings, type WorkerToTab } from './worker-session';

interface Entry {
  session: TokenSession;
  /** Tabs that still answer, the one that called last first: the one asked for a subject token. */
  ports: MessagePort[];
}

/** How long the worker waits for a tab to hand it a subject token. */
const SUBJECT_TIMEOUT_MS = 15_000;

const sessions = new Map<string, Entry>();
let nextRequest = 0;
const subjectRequests = new Map<number, { resolve: (token: string) => void; reject: (error: Error) => void }>();

function send(port: MessagePort, message: WorkerToTab): void {
  port.postMessage(message);
}

/** Asks the tab that called last for a subject token (the identity provider's SDK lives in pages, not here). */
function askForSubjectToken(entry: Entry): Promise<string> {
  const port = entry.ports[0];
  if (!port) return Promise.reject(new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'no tab to ask' }));
  const id = ++nextRequest;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      subjectRequests.delete(id);
      reject(new TollgateError('SUBJECT_TOKEN_UNAVAILABLE', { endpoint: 'subject', description: 'no tab answered' }));
    }, SUBJECT_TIMEOUT_MS);
    subjectRequests.set(id, {
      resolve: (token) => {
        clearTimeout(timer);
        resolve(token);
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    send(port, { type: 'subject?', id });
  });
}

function sessionFor(name: string, settings: WorkerSessionSettings): Entry {
  let entry = sessions.get(name);
  if (!entry) {
    const clock = { now: () => Date.now() };
    const created: Entry = { ports: [], session: undefined as unknown as TokenSession };
    created.session = new TokenSession({
      context: {
        baseUrl: settings.baseUrl,
        fetch: (input, init) => globalThis.fetch(input, init),
        clock,
        retry: resolveRetryOptions(),
        dpop: settings.dpop ? new DpopProver(settings.dpop, clock) : undefined,
      },
      storage: memoryStorage(),
      marginMs: settings.marginMs,
      scope: settings.scope,
      clientId: settings.clientId,
      subjectTokenType: settings.subjectTokenType,
      subjectToken: () => askForSubjectToken(created),
    });
    entry = created;
    sessions.set(name, entry);
  }
  return entry;
}

function connect(port: MessagePort): void {
  let entry: Entry | undefined;
  port.onmessage = (event: MessageEvent<TabToWorker>) => {
    const message = event.data;
    if (message.type === 'init') {
      entry = sessionFor(message.name, message.settings);
      entry.ports.unshift(port);
    } else if (message.type === 'bye') {
      if (entry) entry.ports = entry.ports.filter((other) => other !== port);
    } else if (message.type === 'subject') {
      const waiter = subjectRequests.get(message.id);
      subjectRequests.delete(message.id);
      if (message.error) waiter?.reject(deserializeError(message.error));
      else waiter?.resolve(message.token ?? '');
    } else if (message.type === 'call' && entry) {
      const current = entry;
      current.ports = [port, ...current.ports.filter((other) => other !== port)];
      const work =
        message.op === 'tokens'
          ? current.session.tokens()
          : message.op === 'renew'
            ? current.session.renew(message.mode ?? 'refresh', message.rejected)
            : current.session.revoke().then(() => undefined);
      work.then(
        (tokens) => send(port, { type: 'result', id: message.id, tokens }),
        (error: unknown) => send(port, { type: 'result', id: message.id, error: serializeError(error) }),
      );
    }
  };
  port.start();
}

(globalThis as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event) => {
  for (const port of event.ports) connect(port);
};
