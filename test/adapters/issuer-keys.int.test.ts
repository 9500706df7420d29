import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, calculateJwkThumbprint, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { loadConfig, type TrustConfig } from '../../src/config/config';
import { ISSUER_KEY_DEFAULTS, IssuerDiscoveryError, IssuerKeys, IssuerKeysUnavailableError } from '../../src/adapters/issuer-keys';
import { TestClock } from '../support/clock';

/** A loopback issuer whose answers each test sets: path → [status, body]. */
interface FakeIssuer {
  url: string;
  routes: Map<string, [number, unknown]>;
  hits: Map<string, number>;
  close(): Promise<void>;
}

async function startFakeIssuer(): Promise<FakeIssuer> {
  const routes = new Map<string, [number, unknown]>();
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const [status, body] = routes.get(path) ?? [404, { error: 'not found' }];
    response.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function trustFor(issuer: string, jwksUri?: string): TrustConfig {
  return loadConfig({
    trust: [{ name: 'test', issuer, ...(jwksUri ? { jwksUri } : {}), kind: 'ci', audiences: ['tollgate'], rules: [{ claims: { sub: '**' }, scopes: ['a'] }] }],
  }).trust[0]!;
}

describe('IssuerKeys', () => {
  let fake: FakeIssuer;
  let privateKey: CryptoKey;
  let publicJwk: JWK;

  beforeAll(async () => {
    fake = await startFakeIssuer();
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = await exportJWK(pair.publicKey);
    publicJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
  });

  afterAll(async () => {
    await fake?.close();
  });

  const sign = (kid = publicJwk.kid!) =>
    new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt().setExpirationTime('5m').sign(privateKey);

  it('discovers the JWKS URI and verifies with its keys', async () => {
    const issuer = `${fake.url}/ok`;
    fake.routes.set('/ok/.well-known/openid-configuration', [200, { issuer, jwks_uri: `${fake.url}/ok/keys` }]);
    fake.routes.set('/ok/keys', [200, { keys: [publicJwk] }]);
    const keys = new IssuerKeys();

    const { payload } = await jwtVerify(await sign(), await keys.keySet(trustFor(issuer)));

    expect(payload.sub).toBe('x');
  });

  it('discovers once for concurrent callers and reuses the result', async () => {
    const issuer = `${fake.url}/once`;
    fake.routes.set('/once/.well-known/openid-configuration', [200, { issuer, jwks_uri: `${fake.url}/once/keys` }]);
    fake.routes.set('/once/keys', [200, { keys: [publicJwk] }]);
    const keys = new IssuerKeys();
    const trust = trustFor(issuer);

    await Promise.all(Array.from({ length: 5 }, () => keys.keySet(trust)));
    await keys.keySet(trust);

    expect(fake.hits.get('/once/.well-known/openid-configuration')).toBe(1);
  });

  it('uses jwksUri without discovery when configured', async () => {
    const issuer = `${fake.url}/direct`;
    fake.routes.set('/direct/jwks', [200, { keys: [publicJwk] }]);
    const keys = new IssuerKeys();

    await jwtVerify(await sign(), await keys.keySet(trustFor(issuer, `${fake.url}/direct/jwks`)));

    expect(fake.hits.get('/direct/.well-known/openid-configuration')).toBeUndefined();
  });

  it.each([
    ['a document naming another issuer', (issuer: string) => [200, { issuer: `${issuer}-evil`, jwks_uri: `${issuer}/keys` }]],
    ['a document without jwks_uri', (issuer: string) => [200, { issuer }]],
    ['a non-loopback http jwks_uri', (issuer: string) => [200, { issuer, jwks_uri: 'http://keys.example.com/jwks' }]],
    ['an HTTP error', () => [500, { error: 'boom' }]],
    ['a body that is not JSON', () => [200, '<html>']],
  ] as [string, (issuer: string) => [number, unknown]][])('refuses discovery with %s', async (_name, answer) => {
    const name = `/bad-${Math.random().toString(36).slice(2)}`;
    const issuer = `${fake.url}${name}`;
    fake.routes.set(`${name}/.well-known/openid-configuration`, answer(issuer));

    await expect(new IssuerKeys().keySet(trustFor(issuer))).rejects.toBeInstanceOf(IssuerDiscoveryError);
  });

  it('does not cache a failed discovery', async () => {
    const issuer = `${fake.url}/later`;
    const keys = new IssuerKeys();
    await expect(keys.keySet(trustFor(issuer))).rejects.toBeInstanceOf(IssuerDiscoveryError);
    fake.routes.set('/later/.well-known/openid-configuration', [200, { issuer, jwks_uri: `${fake.url}/later/keys` }]);
    fake.routes.set('/later/keys', [200, { keys: [publicJwk] }]);

    await expect(keys.keySet(trustFor(issuer))).resolves.toBeInstanceOf(Function);
  });

  it.each([
    ['an HTTP error', [503, { error: 'down' }]],
    ['a body that is not JSON', [200, 'not json']],
    ['a document that is not a JWK set', [200, { keys: 'none' }]],
  ] as [string, [number, unknown]][])('reports a JWKS answering %s as unavailable keys, not a bad token', async (_name, answer) => {
    const name = `/jwks-${Math.random().toString(36).slice(2)}`;
    fake.routes.set(`${name}/jwks`, answer);
    const set = await new IssuerKeys().keySet(trustFor(`${fake.url}${name}`, `${fake.url}${name}/jwks`));

    await expect(jwtVerify(await sign(), set)).rejects.toBeInstanceOf(IssuerKeysUnavailableError);
  });

  it('reports an unreachable JWKS as unavailable keys', async () => {
    const set = await new IssuerKeys({ timeoutMs: 500 }).keySet(trustFor('http://127.0.0.1:9/x', 'http://127.0.0.1:9/jwks'));

    await expect(jwtVerify(await sign(), set)).rejects.toBeInstanceOf(IssuerKeysUnavailableError);
  });

  describe('once keys are held', () => {
    const { cooldownMs, cacheMaxAgeMs, maxStaleMs } = ISSUER_KEY_DEFAULTS;
    const seconds = (ms: number) => ms / 1000;

    /** A fresh issuer path whose JWKS answers 200 with the key, an IssuerKeys on a test clock, and keys already fetched once. */
    async function held() {
      const name = `/held-${Math.random().toString(36).slice(2)}`;
      fake.routes.set(`${name}/jwks`, [200, { keys: [publicJwk] }]);
      const clock = new TestClock();
      const set = await new IssuerKeys({ clock }).keySet(trustFor(`${fake.url}${name}`, `${fake.url}${name}/jwks`));
      await jwtVerify(await sign(), set);
      return { name, clock, set, fetches: () => fake.hits.get(`${name}/jwks`) ?? 0 };
    }

    it('refetches for unknown kids at most once per cooldown while the issuer answers', async () => {
      const { clock, set, fetches } = await held();
      clock.advance(seconds(cooldownMs) + 1);

      for (let i = 0; i < 20; i++) await expect(jwtVerify(await sign(`made-up-${i}`), set)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);

      expect(fetches()).toBe(2);
    });

    it('answers an unknown kid as the token\'s fault while the JWKS is down, and counts failed refetches against the cooldown', async () => {
      const { name, clock, set, fetches } = await held();
      fake.routes.set(`${name}/jwks`, [503, { error: 'down' }]);
      clock.advance(seconds(cooldownMs) + 1);

      for (let i = 0; i < 20; i++) await expect(jwtVerify(await sign(`made-up-${i}`), set)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
      await expect(jwtVerify(await sign(), set)).resolves.toBeDefined();

      expect(fetches()).toBe(2);
    });

    it('finds a rotated key once the cooldown allows a refetch', async () => {
      const { name, clock, set } = await held();
      const next = await generateKeyPair('RS256');
      const nextJwk = { ...(await exportJWK(next.publicKey)), kid: 'rotated', alg: 'RS256', use: 'sig' };
      fake.routes.set(`${name}/jwks`, [200, { keys: [publicJwk, nextJwk] }]);
      const rotated = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'rotated' }).setIssuedAt().setExpirationTime('5m').sign(next.privateKey);

      await expect(jwtVerify(rotated, set)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
      clock.advance(seconds(cooldownMs) + 1);

      await expect(jwtVerify(rotated, set)).resolves.toBeDefined();
    });

    it('keeps verifying with aged keys while their refetch fails, until maxStaleMs after the last success', async () => {
      const { name, clock, set, fetches } = await held();
      fake.routes.set(`${name}/jwks`, [503, { error: 'down' }]);
      clock.advance(seconds(cacheMaxAgeMs) + 1);

      await expect(jwtVerify(await sign(), set)).resolves.toBeDefined();
      await expect(jwtVerify(await sign(), set)).resolves.toBeDefined();
      expect(fetches()).toBe(2);

      clock.advance(seconds(maxStaleMs - cacheMaxAgeMs));
      await expect(jwtVerify(await sign(), set)).rejects.toBeInstanceOf(IssuerKeysUnavailableError);

      fake.routes.set(`${name}/jwks`, [200, { keys: [publicJwk] }]);
      clock.advance(seconds(cooldownMs) + 1);
      await expect(jwtVerify(await sign(), set)).resolves.toBeDefined();
    });
  });

  it('leaves an unknown kid as the token\'s fault', async () => {
    fake.routes.set('/kid/jwks', [200, { keys: [publicJwk] }]);
    const set = await new IssuerKeys().keySet(trustFor(`${fake.url}/kid`, `${fake.url}/kid/jwks`));

    await expect(jwtVerify(await sign('unknown-kid'), set)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
  });
});
