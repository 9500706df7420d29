import { createTollgateClient, memoryStorage } from '../../src/client';

describe('createTollgateClient', () => {
  const refuseFetch: typeof fetch = async () => {
    throw new Error('no request may be sent');
  };
  // A stored, fresh token: path checks happen before any request would.
  const storage = () => memoryStorage({ accessToken: 'at', refreshToken: 'rt', obtainedAt: Date.now(), expiresAt: Date.now() + 900_000 });
  const client = (baseUrl = 'https://tollgate.example.com/prod') =>
    createTollgateClient({ baseUrl, getSubjectToken: () => 'x', fetch: refuseFetch, storage: storage() });

  it.each([
    ['an absolute URL', 'https://evil.example.com/steal'],
    ['a protocol-relative URL', '//evil.example.com/steal'],
    ['no leading slash', 'orders'],
    ['a climb out of the proxy', '/../token'],
    ['an encoded climb', '/%2e%2e/token'],
    ['a climb after a segment', '/orders/../../revoke'],
    ['the proxy root itself', '/'],
    ['a backslash', '/orders\\..\\token'],
    ['white space', '/orders /x'],
    ['a fragment', '/orders#x'],
  ])('refuses %s with INVALID_PATH before sending anything', async (_name, path) => {
    await expect(client().fetch(path)).rejects.toMatchObject({ code: 'INVALID_PATH', endpoint: 'proxy' });
  });

  it.each([
    ['plain http to a remote host', 'http://tollgate.example.com'],
    ['a query in the base URL', 'https://tollgate.example.com?x=1'],
  ])('refuses a base URL with %s', (_name, baseUrl) => {
    expect(() => client(baseUrl)).toThrow(TypeError);
  });

  it('refuses a negative refresh margin', () => {
    expect(() => createTollgateClient({ baseUrl: 'https://t.example.com', getSubjectToken: () => 'x', refreshMarginSeconds: -1 })).toThrow(TypeError);
  });
});
