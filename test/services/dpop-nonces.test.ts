import { SignJWT, decodeProtectedHeader } from 'jose';
import { generateSigningJwk, importSigningKeys, type SigningKeyDocument } from '../../src/adapters/jwk-set';
import { DPOP_NONCE_TYP, DpopNonces } from '../../src/services/dpop-nonces';
import type { SigningKeySource } from '../../src/ports/signing-keys';
import { TestClock } from '../support/clock';

const ISSUER = 'https://auth.example.com';

describe('DpopNonces (RFC 9449 §8–9, stateless)', () => {
  let document: SigningKeyDocument;
  let keys: SigningKeySource;
  const clock = new TestClock();

  beforeAll(async () => {
    const first = await generateSigningJwk('ES256');
    document = { current: first.kid!, keys: [first] };
    keys = { load: () => importSigningKeys(document) };
  });

  it('hands out one nonce per half lifetime, and any instance with the same keys accepts it', async () => {
    const minting = new DpopNonces(keys, clock, ISSUER, 300);
    const other = new DpopNonces(keys, clock, ISSUER, 300);
    const nonce = await minting.current();
    expect(decodeProtectedHeader(nonce)).toMatchObject({ typ: DPOP_NONCE_TYP, kid: document.current });
    expect(await other.accepts(nonce)).toBe(true);
    clock.advance(149);
    expect(await minting.current()).toBe(nonce);
    clock.advance(1);
    expect(await minting.current()).not.toBe(nonce);
  });

  it('stops accepting a nonce after its lifetime (plus 5 s of leeway), and a lowered lifetime applies at once', async () => {
    const nonces = new DpopNonces(keys, clock, ISSUER, 300);
    const nonce = await nonces.current();
    clock.advance(120);
    expect(await new DpopNonces(keys, clock, ISSUER, 60).accepts(nonce)).toBe(false);
    clock.advance(184);
    expect(await nonces.accepts(nonce)).toBe(true);
    clock.advance(2);
    expect(await nonces.accepts(nonce)).toBe(false);
  });

  it('keeps accepting nonces signed by a key that is still published after a rotation', async () => {
    const nonces = new DpopNonces(keys, clock, ISSUER, 300);
    const before = await nonces.current();
    const next = await generateSigningJwk('ES256');
    const previous = document;
    document = { current: next.kid!, keys: [next, ...previous.keys] };
    try {
      expect(await nonces.accepts(before)).toBe(true);
    } finally {
      document = previous;
    }
  });

  it.each([
    ['no nonce', async () => undefined],
    ['a number', async () => 42],
    ['garbage', async () => 'not-a-jws'],
    ['another deployment (other iss)', async () => new DpopNonces(keys, clock, 'https://other.example.com', 300).current()],
    [
      'an access token (typ at+jwt) signed with the same key',
      async () => {
        const { current } = await keys.load();
        return new SignJWT({}).setProtectedHeader({ alg: current.alg, kid: current.kid, typ: 'at+jwt' }).setIssuer(ISSUER).setIssuedAt().setExpirationTime('5m').sign(current.key);
      },
    ],
    [
      'a nonce signed by an unpublished key',
      async () => {
        const stranger = await generateSigningJwk('ES256');
        return new DpopNonces({ load: () => importSigningKeys({ current: stranger.kid!, keys: [stranger] }) }, clock, ISSUER, 300).current();
      },
    ],
    ['a nonce longer than 2048 characters', async () => 'a'.repeat(2049)],
  ])('refuses %s', async (_name, make) => {
    expect(await new DpopNonces(keys, clock, ISSUER, 300).accepts(await make())).toBe(false);
  });
});
