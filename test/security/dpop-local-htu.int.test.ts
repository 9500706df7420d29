import { DpopTestKey } from '../support/dpop-key';
import { EXCHANGE } from '../support/tollgate';
import { rawRequest } from '../services/proxy-harness';
import { oauthError, startTokenSuite, type TokenSuite } from '../integration/token-fixtures';

/**
 * Issue 13.7: in local mode, a DPoP proof's `htu` is checked against the
 * server's configured public URL, as API Gateway's own domain is in AWS,
 * never against the `Host` header the client sent: a proof made for another
 * server does not pass by sending that server's name as `Host`.
 */
describe('DPoP htu in local mode follows the public URL, not the Host header', () => {
  let suite: TokenSuite;
  let key: DpopTestKey;

  beforeAll(async () => {
    suite = await startTokenSuite();
    key = await DpopTestKey.generate();
  });

  afterAll(async () => {
    await suite?.close();
  });

  const exchange = async (htu: string, host: string) => {
    const body = new URLSearchParams({ ...EXCHANGE, subject_token: await suite.githubToken() }).toString();
    return rawRequest(suite.tollgate.baseUrl, {
      method: 'POST',
      path: '/token',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded', dpop: await key.proof({ htm: 'POST', htu }) },
      body,
    });
  };

  it.each([
    ['another host, sent as Host', 'https://evil.example.com/token', 'evil.example.com'],
    ['another host over http, sent as Host', 'http://evil.example.com/token', 'evil.example.com'],
    ['another port of this host, sent as Host', 'http://127.0.0.1:1/token', '127.0.0.1:1'],
    ['the public host with https (the server is http)', () => `${suite.tollgate.baseUrl.replace('http:', 'https:')}/token`, undefined],
  ] as [string, string | (() => string), string | undefined][])('a proof for %s: invalid_dpop_proof', async (_name, htu, host) => {
    const answer = await exchange(typeof htu === 'function' ? htu() : htu, host ?? new URL(suite.tollgate.baseUrl).host);

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(oauthError('invalid_dpop_proof', 'the DPoP proof is not valid'));
  });

  it('a proof for the public URL passes whatever Host the client sends', async () => {
    const answer = await exchange(`${suite.tollgate.baseUrl}/token`, 'evil.example.com');

    expect(answer.status).toBe(200);
    expect(answer.json.token_type).toBe('DPoP');
  });
});
