import { generateSigningKeyDocument, importSigningKeys } from '../../src/adapters/jwk-set';
import { AccessTokenError } from '../../src/domain/errors';
import type { Session } from '../../src/domain/session';
import type { SigningKeys } from '../../src/ports/signing-keys';
import type { SessionStore } from '../../src/ports/session-store';
import { AccessTokens } from '../../src/services/access-tokens';
import { SessionGate } from '../../src/services/session-gate';
import { TestClock } from '../support/clock';

const ISSUER = 'https://tollgate.example.com';
const CACHE_SECONDS = 30;
/** Access-token lifetime: longer than the window, except where a test widens the window past it. */
const TTL_SECONDS = 120;

/**
 * The gate's cache of verified tokens: within `cacheSeconds` a token's
 * signature is not checked again, but its `exp` is, a changed byte is a
 * miss, and a key removed from the key set stops its tokens once the window
 * has passed. Real keys and signatures; the key source counts its loads
 * (each verification loads the key set once).
 */
describe('SessionGate: verified tokens', () => {
  let keys: SigningKeys;
  let otherKeys: SigningKeys;
  let clock: TestClock;
  let current: SigningKeys;
  let loads: number;
  let tokens: AccessTokens;

  beforeAll(async () => {
    keys = await importSigningKeys(await generateSigningKeyDocument('RS256'));
    otherKeys = await importSigningKeys(await generateSigningKeyDocument('RS256'));
  });

  beforeEach(() => {
    clock = new TestClock();
    current = keys;
    loads = 0;
    tokens = new AccessTokens(
      {
        load: async () => {
          loads += 1;
          return current;
        },
      },
      clock,
      ISSUER,
      'tollgate',
      TTL_SECONDS,
    );
  });

  /** One active session `s1` of `github:acme/app`, as the store would return it. */
  function sessionStore(): SessionStore {
    const now = clock.now() / 1000;
    const session = {
      sid: 's1',
      sub: 'github:acme/app',
      kind: 'ci',
      trust: 'github',
      scopes: ['deploy'],
      sidCreatedAt: now,
      sidExpiry: now + 3600,
      idleExpiry: now + 3600,
      refreshCount: 0,
      refreshHash: 'h',
      usedHashes: [],
      status: 'active',
      context: {},
      ttl: now + 7200,
    } satisfies Session;
    return { get: async (sid: string) => (sid === session.sid ? session : undefined) } as Partial<SessionStore> as SessionStore;
  }

  const gateWith = (cacheSeconds: number) => new SessionGate(tokens, sessionStore(), clock, cacheSeconds, new Set(['github']));

  async function issued(): Promise<string> {
    const { token } = await tokens.issue({ sub: 'github:acme/app', sid: 's1', scope: 'deploy', kind: 'ci', clientId: 'github', context: {}, notAfter: Number.MAX_SAFE_INTEGER });
    loads = 0;
    return token;
  }

  async function refusalOf(promise: Promise<unknown>): Promise<AccessTokenError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AccessTokenError);
    return error as AccessTokenError;
  }

  it('verifies a token once within the window and again after it', async () => {
    const gate = gateWith(CACHE_SECONDS);
    const token = await issued();

    await gate.check(token);
    clock.advance(5);
    const again = await gate.check(token);
    const afterFirst = loads;
    clock.advance(CACHE_SECONDS);
    await gate.check(token);

    expect(again.claims.sid).toBe('s1');
    expect(afterFirst).toBe(1);
    expect(loads).toBe(2);
  });

  it('refuses a cached token once its exp has passed (TOKEN_EXPIRED, as verify says it)', async () => {
    const gate = gateWith(TTL_SECONDS * 2);
    const token = await issued();
    await gate.check(token);

    clock.advance(TTL_SECONDS);
    const error = await refusalOf(gate.check(token));

    expect(error.code).toBe('TOKEN_EXPIRED');
    expect(loads).toBe(1);
  });

  it('refuses a token changed in one byte while the original is cached', async () => {
    const gate = gateWith(CACHE_SECONDS);
    const token = await issued();
    await gate.check(token);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const altered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;

    const error = await refusalOf(gate.check(altered));

    expect(error.code).toBe('TOKEN_INVALID');
  });

  it('stops the tokens of a removed signing key once the window has passed', async () => {
    const gate = gateWith(CACHE_SECONDS);
    const token = await issued();
    await gate.check(token);
    current = otherKeys;

    clock.advance(CACHE_SECONDS - 1);
    await gate.check(token);
    clock.advance(1);
    const error = await refusalOf(gate.check(token));

    expect(error.code).toBe('TOKEN_INVALID');
  });

  it('verifies on every check when the cache is off (cacheSeconds 0)', async () => {
    const gate = gateWith(0);
    const token = await issued();

    await gate.check(token);
    await gate.check(token);
    await gate.check(token);

    expect(loads).toBe(3);
  });
});
