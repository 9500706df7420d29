import { createTollgateClient, isTollgateError, memoryStorage, type StoredTokens } from '../../src/client';

const BASE = 'https://tollgate.example.com';
const noWait = { sleep: async () => undefined, random: () => 0 };

/** A body stream that sends a few bytes, then fails mid-read (a connection cut after the headers). */
function cutBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"access_token":"a'));
      controller.error(new TypeError('network error'));
    },
  });
}

function tokenAnswer(n: number): Response {
  return Response.json({ access_token: `at-${n}`, token_type: 'Bearer', expires_in: 900, refresh_token: `rt-${n}` });
}

describe('browser-side failures become TollgateErrors', () => {
  const due: StoredTokens = { accessToken: 'at-0', refreshToken: 'rt-0', obtainedAt: Date.now() - 900_000, expiresAt: Date.now() - 1_000 };

  it('a fetch that rejects (a refused connection, or an answer CORS withheld) is NETWORK_ERROR', async () => {
    const client = createTollgateClient({ baseUrl: BASE, getSubjectToken: () => 'subject', fetch: async () => Promise.reject(new TypeError('Failed to fetch')), retry: noWait });
    const error = await client.token().catch((caught: unknown) => caught);
    expect(isTollgateError(error, 'NETWORK_ERROR')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('an abort by the caller’s signal is ABORTED, with the signal’s reason as cause', async () => {
    const storage = memoryStorage({ accessToken: 'at', obtainedAt: Date.now(), expiresAt: Date.now() + 900_000 });
    const controller = new AbortController();
    const client = createTollgateClient({
      baseUrl: BASE,
      getSubjectToken: () => 'subject',
      storage,
      fetch: (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          controller.abort(new Error('user left the page'));
        }),
    });
    const error = await client.fetch('/orders', { signal: controller.signal }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'TollgateError', code: 'ABORTED', endpoint: 'proxy' });
    expect((error as Error).cause).toEqual(new Error('user left the page'));
  });

  it('a token answer cut mid-body is RESPONSE_INTERRUPTED, and the refresh is sent again at once with the same token', async () => {
    const sent: string[] = [];
    const client = createTollgateClient({
      baseUrl: BASE,
      getSubjectToken: () => Promise.reject(new Error('must not start over')),
      storage: memoryStorage(due),
      retry: noWait,
      fetch: async (_input, init) => {
        sent.push(new URLSearchParams(String(init?.body)).get('refresh_token')!);
        // The server rotated (and would answer a repeat with the same successor); the first answer is lost.
        return sent.length === 1 ? new Response(cutBody(), { status: 200, headers: { 'content-type': 'application/json' } }) : tokenAnswer(1);
      },
    });

    expect(await client.token()).toBe('at-1');
    expect(sent).toEqual(['rt-0', 'rt-0']);
  });

  it('gives up after three prompt retries and still uses a token that has life left', async () => {
    let calls = 0;
    const fresh: StoredTokens = { accessToken: 'at-0', refreshToken: 'rt-0', obtainedAt: Date.now() - 890_000, expiresAt: Date.now() + 30_000 };
    const client = createTollgateClient({
      baseUrl: BASE,
      getSubjectToken: () => 'subject',
      storage: memoryStorage(fresh),
      retry: noWait,
      fetch: async () => {
        calls++;
        throw new TypeError('Failed to fetch');
      },
    });
    expect(await client.token()).toBe('at-0');
    expect(calls).toBe(4);
  });

  it('an offline device is OFFLINE', async () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    try {
      const client = createTollgateClient({ baseUrl: BASE, getSubjectToken: () => 'subject', fetch: async () => Promise.reject(new TypeError('Failed to fetch')) });
      await expect(client.token()).rejects.toMatchObject({ code: 'OFFLINE' });
    } finally {
      if (descriptor) Object.defineProperty(globalThis, 'navigator', descriptor);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
