import { decodeJwt } from 'jose';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { postForm } from '../support/http';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { OK_JSON, rawRequest, recordingObservability, startProxyTollgate, startTestUpstream, type TestUpstream } from '../services/proxy-harness';

/** `Authorization: DPoP` at the proxy (RFC 9449 §7), over HTTP against the local server and a real upstream. */
describe('proxy: DPoP-bound access tokens', () => {
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let tollgate: LocalTollgate;
  const observability = recordingObservability();
  const clock = new TestClock();
  let key: DpopTestKey;
  let bound: { access_token: string; refresh_token: string; token_type: string };

  const now = () => Math.floor(clock.now() / 1000);

  beforeAll(async () => {
    issuers = await startTestIssuers(['github', 'clerk']);
    upstream = await startTestUpstream();
    tollgate = await startProxyTollgate({
      issuers,
      clock,
      observability,
      proxy: {
        upstreamUrl: `${upstream.url}/base`,
        routes: [
          { name: 'orders-read', methods: ['GET', 'HEAD'], path: '/orders/**', scopes: ['orders:read'] },
          { name: 'orders-write', methods: ['POST'], path: '/orders/**', scopes: ['orders:write'] },
        ],
        cors: { allowedOrigins: ['https://app.example.com'] },
      },
    });
    key = await DpopTestKey.generate({ nowSeconds: now });
    bound = await exchange(key);
  });

  afterAll(async () => {
    await tollgate?.close();
    await upstream?.close();
    await issuers?.close();
  });

  beforeEach(() => upstream.behave(OK_JSON));

  async function exchange(with_: DpopTestKey): Promise<{ access_token: string; refresh_token: string; token_type: string }> {
    const github = issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', ownerId: '65' }));
    const answer = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject }, { DPoP: await with_.proof({ htm: 'POST', htu: `${tollgate.baseUrl}/token` }) });
    if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
    return answer.json;
  }

  function call(method: string, path: string, token: string, proof: string | undefined, extra: Record<string, string> = {}, body?: string) {
    return rawRequest(tollgate.baseUrl, { method, path, headers: { authorization: `DPoP ${token}`, ...(proof ? { dpop: proof } : {}), ...extra }, body });
  }

  it('forwards a DPoP request, and the upstream sees neither the proof nor the token', async () => {
    const proof = await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/42`, accessToken: bound.access_token });
    const before = upstream.received.length;

    const answer = await call('GET', '/proxy/orders/42?expand=items', bound.access_token, proof);

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true });
    const seen = upstream.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/base/orders/42?expand=items');
    expect(upstream.header(seen[0]!, 'dpop')).toEqual([]);
    expect(upstream.header(seen[0]!, 'authorization')).toEqual([]);
    const everything = JSON.stringify(seen[0]!.headers);
    expect(everything).not.toContain(bound.access_token);
    expect(everything).not.toContain(proof.split('.')[2]);
    expect(upstream.header(seen[0]!, 'x-tollgate-subject')).toEqual(['github:repo:acme/app:ref:refs/heads/main']);
  });

  it('checks htm against the method and htu without the query, for a POST with a body', async () => {
    const proof = await key.proof({ htm: 'POST', htu: `${tollgate.baseUrl}/proxy/orders?ignored=1`, accessToken: bound.access_token });

    const answer = await call('POST', '/proxy/orders?dry_run=true', bound.access_token, proof, { 'content-type': 'application/json' }, '{"item":"book"}');

    expect(answer.status).toBe(200);
    expect(upstream.received.at(-1)).toMatchObject({ method: 'POST', url: '/base/orders?dry_run=true' });
    expect(upstream.received.at(-1)!.body.toString()).toBe('{"item":"book"}');
  });

  it('accepts the scheme name in any case (RFC 9110 §11.1)', async () => {
    const proof = await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/1`, accessToken: bound.access_token });

    const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `dpop ${bound.access_token}`, dpop: proof } });

    expect(answer.status).toBe(200);
  });

  it('accepts the access tokens of a bound refresh at the proxy with the same key', async () => {
    const session = await exchange(key);
    const refreshed = await postForm(
      `${tollgate.baseUrl}/token`,
      { grant_type: 'refresh_token', refresh_token: session.refresh_token },
      { DPoP: await key.proof({ htm: 'POST', htu: `${tollgate.baseUrl}/token` }) },
    );
    expect(refreshed.json.token_type).toBe('DPoP');
    const token = refreshed.json.access_token as string;
    expect(decodeJwt(token).cnf).toEqual({ jkt: key.jkt });

    const answer = await call('GET', '/proxy/orders/7', token, await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/7`, accessToken: token }));

    expect(answer.status).toBe(200);
  });

  it('keeps Bearer tokens working next to DPoP ones', async () => {
    const github = issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', ownerId: '65' }));
    const plain = (await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject })).json;

    const answer = await rawRequest(tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `Bearer ${plain.access_token}` } });

    expect(plain.token_type).toBe('Bearer');
    expect(answer.status).toBe(200);
  });

  it('drops a DPoP-Nonce the upstream sends: Tollgate alone speaks DPoP to the client', async () => {
    upstream.behave((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'dpop-nonce': 'upstream-made' }).end('{}');
    });

    const answer = await call('GET', '/proxy/orders/3', bound.access_token, await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/3`, accessToken: bound.access_token }));

    expect(answer.status).toBe(200);
    expect(answer.headers['dpop-nonce']).toBeUndefined();
  });

  it('lets browsers send the DPoP header (preflight) and read DPoP-Nonce', async () => {
    const preflight = await rawRequest(tollgate.baseUrl, {
      method: 'OPTIONS',
      path: '/proxy/orders/1',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, dpop' },
    });
    const answer = await call('GET', '/proxy/orders/1', bound.access_token, await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/1`, accessToken: bound.access_token }), {
      origin: 'https://app.example.com',
    });

    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization, dpop');
    expect(answer.headers['access-control-expose-headers']).toBe('WWW-Authenticate, Retry-After, DPoP-Nonce');
  });

  it('logs neither the token nor the proof', async () => {
    const proof = await key.proof({ htm: 'GET', htu: `${tollgate.baseUrl}/proxy/orders/5`, accessToken: bound.access_token });
    await call('GET', '/proxy/orders/5', bound.access_token, proof);
    await call('GET', '/proxy/orders/5', bound.access_token, proof);

    const logs = observability.logger.text();
    expect(logs).toContain('proof replayed');
    expect(logs).not.toContain(bound.access_token.split('.')[2]);
    expect(logs).not.toContain(proof.split('.')[2]);
  });
});
