import { githubActionsClaims } from '../../src/local/dev-claims';
import { createVerifier, DPOP_SIGNING_ALGORITHMS, type DpopReplayStore, type Verifier } from '../../src/verifier';
import { startCiTollgate, type CiTollgate } from '../support/ci-tollgate';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { postForm } from '../support/http';
import { EXCHANGE } from '../support/tollgate';

const RESOURCE = 'https://sync.example.com/v1/documents/7';

/** `verifyRequest`: DPoP-bound Tollgate tokens at a resource server that is not the proxy (RFC 9449 §7). */
describe('createVerifier: DPoP-bound tokens', () => {
  const clock = new TestClock();
  let ci: CiTollgate;
  let key: DpopTestKey;
  let bound: string;
  let unbound: string;
  let verifier: Verifier;
  const now = () => Math.floor(clock.now() / 1000);

  beforeAll(async () => {
    ci = await startCiTollgate(clock, ['orders:read']);
    key = await DpopTestKey.generate({ nowSeconds: now });
    const github = ci.issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74' }));
    const tokenUrl = `${ci.tollgate.baseUrl}/token`;
    const answer = await postForm(tokenUrl, { ...EXCHANGE, subject_token: subject }, { DPoP: await key.proof({ htm: 'POST', htu: tokenUrl }) });
    bound = answer.json.access_token;
    unbound = await ci.accessToken();
  });

  beforeEach(() => {
    verifier = createVerifier({ issuer: ci.tollgate.baseUrl, audience: 'tollgate', now: () => clock.now() });
  });

  afterAll(async () => {
    await ci?.close();
  });

  const proof = (token = bound, overrides: { htm?: string; htu?: string; iat?: number } = {}) =>
    key.proof({ htm: overrides.htm ?? 'GET', htu: overrides.htu ?? RESOURCE, accessToken: token, iat: overrides.iat });

  it('accepts a bound token with the DPoP scheme and a valid proof, and returns its claims with cnf', async () => {
    const claims = await verifier.verifyRequest({ authorization: `DPoP ${bound}`, dpop: await proof(), method: 'GET', url: `${RESOURCE}?rev=3` });

    expect(claims).toMatchObject({ kind: 'ci', scope: 'orders:read', cnf: { jkt: key.jkt } });
  });

  it('accepts Bearer tokens through verifyRequest too', async () => {
    await expect(verifier.verifyRequest({ authorization: `Bearer ${unbound}`, method: 'GET', url: RESOURCE })).resolves.toMatchObject({ kind: 'ci' });
  });

  it('still refuses a bound token in verify(), which has no proof to check', async () => {
    await expect(verifier.verify(bound)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it.each([
    ['no Authorization header', async () => ({ authorization: undefined }), 'AUTH_REQUIRED'],
    ['another scheme', async () => ({ authorization: `Basic ${bound}` }), 'TOKEN_INVALID'],
    ['a bound token as Bearer (RFC 9449 §7.2)', async () => ({ authorization: `Bearer ${bound}`, dpop: await proof() }), 'TOKEN_INVALID'],
    ['an unbound token as DPoP', async () => ({ authorization: `DPoP ${unbound}`, dpop: await proof(unbound) }), 'TOKEN_INVALID'],
    ['a proof by another key', async () => ({ authorization: `DPoP ${bound}`, dpop: await (await DpopTestKey.generate({ nowSeconds: now })).proof({ htm: 'GET', htu: RESOURCE, accessToken: bound }) }), 'TOKEN_INVALID'],
    ['no proof', async () => ({ authorization: `DPoP ${bound}` }), 'DPOP_PROOF_INVALID'],
    ['two proofs', async () => ({ authorization: `DPoP ${bound}`, dpop: [await proof(), await proof()] }), 'DPOP_PROOF_INVALID'],
    ['a proof for another URL', async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(bound, { htu: 'https://sync.example.com/v1/documents/8' }) }), 'DPOP_PROOF_INVALID'],
    ['a proof for another method', async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(bound, { htm: 'DELETE' }) }), 'DPOP_PROOF_INVALID'],
    ['a stale proof', async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(bound, { iat: now() - 90 }) }), 'DPOP_PROOF_INVALID'],
    ['a proof for another token (ath)', async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(unbound) }), 'DPOP_PROOF_INVALID'],
  ])('refuses %s with %s', async (_name, make, code) => {
    const request = { method: 'GET', url: RESOURCE, ...(await make()) };

    await expect(verifier.verifyRequest(request)).rejects.toMatchObject({ code });
  });

  it('refuses a replayed proof on the same verifier', async () => {
    const request = { authorization: `DPoP ${bound}`, dpop: await proof(), method: 'GET', url: RESOURCE };
    await verifier.verifyRequest(request);

    await expect(verifier.verifyRequest(request)).rejects.toMatchObject({ code: 'DPOP_PROOF_INVALID', message: 'the DPoP proof is not valid (proof replayed)' });
  });

  it('remembers proofs in a replay store the caller shares between instances', async () => {
    const shared = new Map<string, number>();
    const store: DpopReplayStore = {
      async claim(id, expiresAt) {
        if ((shared.get(id) ?? 0) > now()) return false;
        shared.set(id, expiresAt);
        return true;
      },
    };
    const one = createVerifier({ issuer: ci.tollgate.baseUrl, audience: 'tollgate', now: () => clock.now(), dpop: { replay: store } });
    const two = createVerifier({ issuer: ci.tollgate.baseUrl, audience: 'tollgate', now: () => clock.now(), dpop: { replay: store } });
    const request = { authorization: `DPoP ${bound}`, dpop: await proof(), method: 'GET', url: RESOURCE };

    await one.verifyRequest(request);

    await expect(two.verifyRequest(request)).rejects.toMatchObject({ code: 'DPOP_PROOF_INVALID' });
    // Kept for as long as the proof could be accepted: its iat may be up to 60 s ahead, and it stays good 60 s after.
    expect([...shared.values()][0]).toBeGreaterThanOrEqual(now() + 120);
  });

  it('forgets the oldest proofs beyond maxEntries, and expired ones', async () => {
    const small = createVerifier({ issuer: ci.tollgate.baseUrl, audience: 'tollgate', now: () => clock.now(), dpop: { maxEntries: 1 } });
    const first = { authorization: `DPoP ${bound}`, dpop: await proof(), method: 'GET', url: RESOURCE };
    const second = { authorization: `DPoP ${bound}`, dpop: await proof(), method: 'GET', url: RESOURCE };
    await small.verifyRequest(first);
    await small.verifyRequest(second);

    await expect(small.verifyRequest(second)).rejects.toMatchObject({ code: 'DPOP_PROOF_INVALID' });
    await expect(small.verifyRequest(first)).resolves.toMatchObject({ cnf: { jkt: key.jkt } });
  });

  it('exports the proof algorithms for a DPoP challenge', () => {
    expect(DPOP_SIGNING_ALGORITHMS).toEqual(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']);
  });
});
