import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { MAX_IDENTIFIER_BYTES } from '../../src/services/subject-token-verifier';
import { oauthError, REPO, startTokenSuite, type TokenSuite } from '../integration/token-fixtures';

/**
 * Issue 13, classes 1, 3 and 5 at `POST /token`, with real keys:
 * - single use follows what was signed, not how it was encoded (base64url
 *   spare bits of the signature, the ECDSA twin `(r, n − s)`);
 * - a trust entry without `audiences` refuses a token that names an `aud`;
 * - absurd claim values (lone surrogates, identifiers of kilobytes, `exp` of
 *   1e20, deep nesting) are `invalid_grant`, never a 5xx and never a session.
 */

const NOT_VALID = oauthError('invalid_grant', 'subject token is not valid');
const USED = oauthError('invalid_grant', 'subject token was already used');
const AUDIENCE = oauthError('invalid_grant', 'subject token audience is not accepted');

/** The order of P-256 (SEC 2 §2.4.2). */
const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

/** The same JWS with the ECDSA signature `(r, s)` replaced by its twin `(r, n − s)`, which verifies too. */
function ecdsaTwin(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return `${header}.${payload}.${Buffer.concat([bytes.subarray(0, 32), twin]).toString('base64url')}`;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same JWS with the signature's last base64url character's unused low bits flipped: other text, the same bytes. */
function spareBits(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const spare = signature.length % 4 === 2 ? 4 : signature.length % 4 === 3 ? 2 : 0;
  if (spare === 0) throw new Error('this signature has no spare bits');
  const last = B64URL.indexOf(signature.at(-1)!);
  const malleated = `${signature.slice(0, -1)}${B64URL[last ^ ((1 << spare) - 1)]}`;
  expect(Buffer.from(malleated, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
  return `${header}.${payload}.${malleated}`;
}

/** A GitHub-like ES256 issuer on loopback: its JWKS and a signer. */
async function startEs256Issuer(): Promise<{ issuer: string; jwksUri: string; sign(claims: Record<string, unknown>): Promise<string>; close(): Promise<void> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'es', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/es`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'es' }).sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('subject tokens are data: single use by content, audience, claim values', () => {
  let suite: TokenSuite;
  let es: Awaited<ReturnType<typeof startEs256Issuer>>;

  beforeAll(async () => {
    es = await startEs256Issuer();
    suite = await startTokenSuite({
      trust: (trust) => [
        ...trust,
        {
          name: 'github-es',
          issuer: es.issuer,
          jwksUri: es.jwksUri,
          kind: 'ci',
          algorithms: ['ES256'],
          audiences: ['tollgate'],
          rules: [{ claims: { repository_id: REPO.repositoryId }, scopes: ['orders:read'] }],
        },
      ],
    });
  });

  afterAll(async () => {
    await suite?.close();
    await es?.close();
  });

  /** Tokens without jti differ only by content: each test's tokens get a run id of their own. */
  let run = 0;
  const esToken = (extra: Record<string, unknown> = {}) => es.sign(githubActionsClaims(es.issuer, suite.now(), { ...REPO, extra: { run_id: `es-${++run}`, ...extra } }));

  describe('single use does not depend on the encoding', () => {
    it.each([
      ['RS256 without jti, the signature’s spare base64url bits flipped', () => suite.githubToken({ extra: { jti: undefined, run_id: `rs-${++run}` } }), spareBits],
      ['ES256 without jti, the signature’s spare base64url bits flipped', () => esToken({ jti: undefined }), spareBits],
      ['ES256 without jti, the ECDSA twin (r, n − s)', () => esToken({ jti: undefined }), ecdsaTwin],
      ['ES256 without jti, the twin with spare bits flipped', () => esToken({ jti: undefined }), (token: string) => spareBits(ecdsaTwin(token))],
      ['ES256 with a jti, the ECDSA twin', () => esToken(), ecdsaTwin],
    ] as [string, () => Promise<string>, (token: string) => string][])('%s: the second form is "already used"', async (_name, make, reencode) => {
      const original = await make();
      const other = reencode(original);
      expect(other).not.toBe(original);

      const answer = await suite.tollgate.exchange(original);
      const again = await suite.tollgate.exchange(other);

      expect(answer.status).toBe(200);
      expect(again.status).toBe(400);
      expect(again.json).toEqual(USED);
    });

    it('ES256 without jti, the same header and claims signed again (a fresh random signature) is "already used"', async () => {
      const claims = githubActionsClaims(es.issuer, suite.now(), { ...REPO, extra: { jti: undefined, run_id: `es-${++run}` } });
      const first = await es.sign(claims);
      const second = await es.sign(claims);
      expect(second).not.toBe(first);

      const answers = [await suite.tollgate.exchange(first), await suite.tollgate.exchange(second)];

      expect(answers.map((answer) => answer.status)).toEqual([200, 400]);
      expect(answers[1]!.json).toEqual(USED);
    });

    it('the ECDSA twin verifies on its own (the test forges nothing Tollgate should refuse as a signature)', async () => {
      const twin = ecdsaTwin(await esToken({ jti: undefined }));

      const answer = await suite.tollgate.exchange(twin);

      expect(answer.status).toBe(200);
    });

    it('two tokens with different claims are two tokens', async () => {
      const first = await suite.tollgate.exchange(await esToken({ jti: undefined, run_id: '1' }));
      const second = await suite.tollgate.exchange(await esToken({ jti: undefined, run_id: '2' }));

      expect([first.status, second.status]).toEqual([200, 200]);
    });
  });

  describe('audience', () => {
    it.each([
      ['another service', 'https://billing.example.com'],
      ['a list naming another service', ['https://billing.example.com']],
      ['Tollgate’s own audience (the entry lists none, so none is accepted)', 'tollgate'],
      ['an empty list', []],
    ])('a Clerk entry without audiences refuses a token whose aud names %s', async (_name, aud) => {
      const before = await suite.counts();

      const answer = await suite.tollgate.exchange(await suite.clerkToken({ extra: { aud } }));

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(AUDIENCE);
      expect(await suite.counts()).toEqual(before);
    });

    it('a Clerk token without aud is still accepted (Clerk session tokens carry none)', async () => {
      const answer = await suite.tollgate.exchange(await suite.clerkToken());

      expect(answer.status).toBe(200);
    });
  });

  describe('absurd claim values are invalid_grant at /token', () => {
    const big = 'x'.repeat(MAX_IDENTIFIER_BYTES + 1);
    let nested: unknown = 'deep';
    for (let i = 0; i < 40; i++) nested = { n: nested };
    it.each<[string, () => Promise<string>]>([
      ['a lone high surrogate in sub', () => suite.githubToken({ extra: { sub: 'repo:acme/app:\uD800' } })],
      ['a lone low surrogate in repository (an identity header later)', () => suite.githubToken({ extra: { repository: 'acme/\uDC00app' } })],
      ['a lone surrogate in a Clerk sid', () => suite.clerkToken({ sid: 'sess_\uD83D' })],
      ['a lone surrogate deep in custom claims', () => suite.clerkToken({ role: 'api-client', extra: { metadata: { role: 'api-client', note: ['\uDFFF'] } } })],
      ['a lone surrogate in a claim name', () => suite.clerkToken({ role: 'api-client', extra: { '\uD800x': 1 } })],
      [`a jti of ${MAX_IDENTIFIER_BYTES + 1} bytes`, () => suite.githubToken({ jti: big })],
      ['a jti of 4 KB', () => suite.githubToken({ jti: 'j'.repeat(4096) })],
      ['a Clerk sid of 4 KB', () => suite.clerkToken({ sid: `sess_${'s'.repeat(4096)}` })],
      ['a sub of 3 KB', () => suite.clerkToken({ sub: `user_${'u'.repeat(3072)}` })],
      ['a repository of 3 KB (an index key of the session)', () => suite.githubToken({ extra: { repository: `acme/${'r'.repeat(3072)}` } })],
      ['a multi-byte sub past the byte limit', () => suite.clerkToken({ sub: 'é'.repeat(MAX_IDENTIFIER_BYTES / 2 + 1) })],
      ['exp 1e20', () => suite.githubToken({ extra: { exp: 1e20 } })],
      ['exp two years ahead', () => suite.githubToken({ extra: { exp: suite.now() + 2 * 366 * 86_400 } })],
      ['claims nested 40 deep', () => suite.clerkToken({ role: 'api-client', extra: { deep: nested } })],
    ])('%s: 400 invalid_grant, nothing written', async (_name, make) => {
      const before = await suite.counts();

      const answer = await suite.tollgate.exchange(await make());

      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(NOT_VALID);
      expect(await suite.counts()).toEqual(before);
    });

    it.each<[string, () => Promise<string>]>([
      ['a surrogate pair (an emoji) in a claim', () => suite.clerkToken({ role: 'api-client', extra: { name: 'Ada 😀' } })],
      [`a jti of exactly ${MAX_IDENTIFIER_BYTES} bytes`, () => suite.githubToken({ jti: 'j'.repeat(MAX_IDENTIFIER_BYTES) })],
      ['exp a day ahead', () => suite.githubToken({ extra: { exp: suite.now() + 86_400 } })],
    ])('%s is accepted', async (_name, make) => {
      const answer = await suite.tollgate.exchange(await make());

      expect(answer.status).toBe(200);
    });
  });
});
