import { SignJWT, generateKeyPair } from 'jose';
import { ISSUER_KEY_DEFAULTS } from '../../src/adapters/issuer-keys';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { snapshotStore } from '../support/store-snapshot';
import { oauthError, REPO, startTokenSuite, type TokenSuite } from '../integration/token-fixtures';

const NOT_VALID = oauthError('invalid_grant', 'subject token is not valid');
const UNAVAILABLE = oauthError('temporarily_unavailable', 'the service is temporarily unavailable, retry later');
/** A JWKS fetch gives up after `timeoutMs`; the rest is room for a busy test machine. Not a speed assertion. */
const ISSUER_FAILURE_BOUND_MS = ISSUER_KEY_DEFAULTS.timeoutMs + 1_500;
const JWKS_PATH = '/github/.well-known/jwks.json';
const FLOOD = 50;

/**
 * Trusted issuers whose JWKS endpoint is down (connections reset) or slow
 * (answers after the fetch timeout), on the suite's clock: the key cache's
 * ages and the refetch cooldown run on it (`IssuerKeys`). Cold start (no
 * keys held yet) while the issuer is down is 503: `token-unavailable`.
 */
describe('a trusted issuer whose JWKS is down or slow', () => {
  let suite: TokenSuite;
  const clock = new TestClock();
  const fetches = () => suite.issuers.fetches.get(JWKS_PATH) ?? 0;
  /** A key the issuer never published, and a fresh made-up kid per token. */
  let unpublished: CryptoKey;
  let made = 0;
  const unknownKid = () =>
    new SignJWT(githubActionsClaims(suite.github.issuer, suite.now(), REPO))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: `made-up-${made++}` })
      .sign(unpublished);
  const snapshot = () => snapshotStore(suite.db, suite.tollgate.tables);

  async function timed<T>(act: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = performance.now();
    const result = await act();
    return { result, ms: performance.now() - started };
  }

  beforeAll(async () => {
    suite = await startTokenSuite({ clock, config: { rateLimit: { tokenRequestsPerMinutePerIp: 100_000 } } });
    unpublished = (await generateKeyPair('RS256')).privateKey;
    // Keys held: one exchange fetched the GitHub JWKS.
    expect((await suite.tollgate.exchange(await suite.githubToken())).status).toBe(200);
  });

  afterAll(async () => {
    suite?.issuers.setMode('up');
    await suite?.close();
  });

  afterEach(() => {
    suite.issuers.setMode('up');
  });

  it.each<['down' | 'slow']>([['down'], ['slow']])('JWKS %s: a token signed with a held key still exchanges, without a fetch', async (mode) => {
    const before = fetches();
    suite.issuers.setMode(mode, ISSUER_KEY_DEFAULTS.timeoutMs + 2_000);

    const answer = await suite.tollgate.exchange(await suite.githubToken());

    expect(answer.status).toBe(200);
    expect(fetches()).toBe(before);
  });

  it.each<['down' | 'slow']>([['down'], ['slow']])(
    'JWKS %s: an unknown kid is invalid_grant within the fetch timeout, after one refetch attempt, and writes nothing',
    async (mode) => {
      clock.advance(ISSUER_KEY_DEFAULTS.cooldownMs / 1000 + 1);
      const token = await unknownKid();
      const before = { fetches: fetches(), store: await snapshot() };
      suite.issuers.setMode(mode, ISSUER_KEY_DEFAULTS.timeoutMs + 2_000);

      const { result, ms } = await timed(() => suite.tollgate.exchange(token));

      expect(result.status).toBe(400);
      expect(result.json).toEqual(NOT_VALID);
      expect(ms).toBeLessThan(ISSUER_FAILURE_BOUND_MS);
      expect(fetches()).toBe(before.fetches + 1);
      expect(await snapshot()).toEqual(before.store);
    },
  );

  it.each<['up' | 'down']>([['up'], ['down']])(
    `JWKS %s: a flood of ${FLOOD} unknown-kid tokens costs the issuer one fetch per cooldown`,
    async (mode) => {
      clock.advance(ISSUER_KEY_DEFAULTS.cooldownMs / 1000 + 1);
      const tokens = await Promise.all(Array.from({ length: FLOOD }, unknownKid));
      const before = { fetches: fetches(), store: await snapshot() };
      suite.issuers.setMode(mode);

      const answers = await Promise.all(tokens.map((token) => suite.tollgate.exchange(token)));

      for (const answer of answers) expect(answer.json).toEqual(NOT_VALID);
      expect(fetches() - before.fetches).toBe(1);
      expect(await snapshot()).toEqual(before.store);
      // Later ones within the cooldown cause none at all.
      expect((await suite.tollgate.exchange(await unknownKid())).json).toEqual(NOT_VALID);
      expect(fetches() - before.fetches).toBe(1);
    },
  );

  it('keeps exchanging with aged keys while the JWKS is down, then answers 503 once they are older than maxStaleMs', async () => {
    suite.issuers.setMode('down');
    clock.advance(ISSUER_KEY_DEFAULTS.cacheMaxAgeMs / 1000 + 1);

    expect((await suite.tollgate.exchange(await suite.githubToken())).status).toBe(200);

    clock.advance(ISSUER_KEY_DEFAULTS.maxStaleMs / 1000);
    const stale = await suite.tollgate.exchange(await suite.githubToken());
    expect(stale.status).toBe(503);
    expect(stale.headers.get('retry-after')).toBe('5');
    expect(stale.json).toEqual(UNAVAILABLE);

    suite.issuers.setMode('up');
    clock.advance(ISSUER_KEY_DEFAULTS.cooldownMs / 1000 + 1);
    expect((await suite.tollgate.exchange(await suite.githubToken())).status).toBe(200);
  });
});
