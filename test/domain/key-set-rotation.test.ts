import type { JWK } from 'jose';
import { generateSigningJwk } from '../../src/adapters/jwk-set';
import {
  KEY_CACHE_SECONDS,
  checkContinuity,
  parseRotatingKeyDocument,
  rotateKeySet,
  rotationPolicyFor,
  type RotatingKeyDocument,
} from '../../src/domain/key-set-rotation';
import { RotationError } from '../../src/domain/rotation-error';

const DAY = 86_400;
const policy = rotationPolicyFor({ accessTokenTtlSeconds: 900 });
const generate = () => generateSigningJwk('ES256');

function documentOf(keys: JWK[], extra: Partial<RotatingKeyDocument> = {}): RotatingKeyDocument {
  return { current: keys[0]!.kid!, keys, ...extra };
}

describe('rotationPolicyFor', () => {
  it('promotes only after two cache periods and keeps a retired key for a token lifetime plus two cache periods', () => {
    expect(KEY_CACHE_SECONDS).toBe(300);
    expect(rotationPolicyFor({ accessTokenTtlSeconds: 900 })).toEqual({ promotionDelaySeconds: 900, retainSeconds: 900 + 600 + 300 });
    expect(rotationPolicyFor({ accessTokenTtlSeconds: 86_400 }).retainSeconds).toBe(86_400 + 900);
  });
});

describe('parseRotatingKeyDocument', () => {
  let key: JWK;
  beforeAll(async () => {
    key = await generate();
  });

  it('reads the empty document the stack deploys as "no key set yet"', () => {
    expect(parseRotatingKeyDocument('{"current":"","keys":[]}')).toBeUndefined();
  });

  it.each([
    ['not JSON', 'nope', 'the secret is not valid JSON'],
    ['no keys member', '{"current":"a"}', 'signing key document must be { current, keys[] }'],
    ['current names no key', () => JSON.stringify({ current: 'other', keys: [key] }), 'signing key document: current names no key'],
    ['next names no key', () => JSON.stringify({ current: key.kid, next: 'other', keys: [key] }), 'signing key document: next names no key'],
    ['publishedAt not numbers', () => JSON.stringify({ current: key.kid, keys: [key], publishedAt: { [key.kid!]: 'yesterday' } }), 'signing key document: publishedAt must map key ids to epoch seconds'],
  ])('rejects a document with %s, without echoing it', (_name, text, message) => {
    const source = typeof text === 'function' ? text() : text;
    let caught: unknown;
    try {
      parseRotatingKeyDocument(source);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RotationError);
    expect((caught as RotationError).code).toBe('INVALID_DOCUMENT');
    expect((caught as RotationError).message).toBe(message);
    expect((caught as RotationError).message).not.toContain(String(key.d));
  });

  it('accepts a document without rotation bookkeeping (the local runtime writes those)', () => {
    const document = parseRotatingKeyDocument(JSON.stringify({ current: key.kid, keys: [key] }));
    expect(document?.current).toBe(key.kid);
  });
});

describe('rotateKeySet', () => {
  const now = 1_800_000_000;

  it('creates a signing key and stages the next one from the empty document', async () => {
    const outcome = await rotateKeySet(undefined, now, policy, generate);

    expect(outcome.bootstrapped).toBe(true);
    expect(outcome.document.keys).toHaveLength(2);
    expect(outcome.document.current).toBe(outcome.document.keys[0]!.kid);
    expect(outcome.document.next).toBe(outcome.document.keys[1]!.kid);
    expect(outcome.document.publishedAt).toEqual({ [outcome.document.current]: now, [outcome.document.next!]: now });
  });

  it('promotes the staged key, retires the old one and stages a fresh key', async () => {
    const [old, staged] = [await generate(), await generate()];
    const before = documentOf([old, staged], { next: staged.kid, publishedAt: { [old.kid!]: now - 60 * DAY, [staged.kid!]: now - 30 * DAY } });

    const outcome = await rotateKeySet(before, now, policy, generate);

    expect(outcome.promoted).toBe(staged.kid);
    expect(outcome.document.current).toBe(staged.kid);
    expect(outcome.document.retiredAt).toEqual({ [old.kid!]: now });
    expect(outcome.document.keys.map((key) => key.kid)).toEqual([old.kid, staged.kid, outcome.staged]);
    expect(outcome.document.next).toBe(outcome.staged);
    expect(outcome.document.publishedAt![outcome.staged!]).toBe(now);
    expect(outcome.removed).toEqual([]);
  });

  it('does not promote a staged key published less than two cache periods ago', async () => {
    const [current, staged] = [await generate(), await generate()];
    const before = documentOf([current, staged], { next: staged.kid, publishedAt: { [staged.kid!]: now - policy.promotionDelaySeconds + 1 } });

    const outcome = await rotateKeySet(before, now, policy, generate);

    expect(outcome.promoted).toBeUndefined();
    expect(outcome.staged).toBeUndefined();
    expect(outcome.document.current).toBe(current.kid);
    expect(outcome.document.keys).toHaveLength(2);
  });

  it('only stages a key when the document has none staged (a document written by hand or by the local runtime)', async () => {
    const current = await generate();

    const outcome = await rotateKeySet(documentOf([current]), now, policy, generate);

    expect(outcome.promoted).toBeUndefined();
    expect(outcome.document.current).toBe(current.kid);
    expect(outcome.document.next).toBe(outcome.staged);
  });

  it('removes a retired key only once its retention has passed', async () => {
    const [expired, recent, current, staged] = [await generate(), await generate(), await generate(), await generate()];
    const before = documentOf([current, expired, recent, staged], {
      next: staged.kid,
      publishedAt: { [staged.kid!]: now - 60 },
      retiredAt: { [expired.kid!]: now - policy.retainSeconds, [recent.kid!]: now - policy.retainSeconds + 1 },
    });

    const outcome = await rotateKeySet(before, now, policy, generate);

    expect(outcome.removed).toEqual([expired.kid]);
    expect(outcome.document.keys.map((key) => key.kid)).toEqual([current.kid, recent.kid, staged.kid]);
    expect(outcome.document.retiredAt).toEqual({ [recent.kid!]: now - policy.retainSeconds + 1 });
  });

  it('moves to a newly configured algorithm in two rotations: the stale staged key is retired unused, never promoted', async () => {
    // Prepare: RS256 keys, then signing.alg changes to ES256.
    const [current, staged] = [await generateSigningJwk('RS256'), await generateSigningJwk('RS256')];
    const before = documentOf([current, staged], { next: staged.kid, publishedAt: { [current.kid!]: now - 60 * DAY, [staged.kid!]: now - 30 * DAY } });

    // Act: the first rotation after the change, then the next one.
    const first = await rotateKeySet(before, now, policy, generate, 'ES256');
    const second = await rotateKeySet(first.document, now + 30 * DAY, policy, generate, 'ES256');

    // Assess: the RS256 key kept signing until an ES256 key had been published for a whole period.
    expect(first.promoted).toBeUndefined();
    expect(first.document.current).toBe(current.kid);
    expect(first.document.retiredAt).toEqual({ [staged.kid!]: now });
    expect(first.document.keys.find((key) => key.kid === first.document.next)?.alg).toBe('ES256');
    checkContinuity(before, first.document);
    expect(second.promoted).toBe(first.document.next);
    expect(second.document.keys.find((key) => key.kid === second.document.current)?.alg).toBe('ES256');
    checkContinuity(first.document, second.document);
  });

  it('marks a stray key (neither current nor staged, no retirement time) retired now instead of dropping it', async () => {
    const [current, stray] = [await generate(), await generate()];

    const outcome = await rotateKeySet(documentOf([current, stray]), now, policy, generate);

    expect(outcome.document.keys.map((key) => key.kid)).toContain(stray.kid);
    expect(outcome.document.retiredAt).toEqual({ [stray.kid!]: now });
  });

  it.each([1, 30])('keeps every token verifiable until it expires, plus the cache time, across rotations every %i days', async (days) => {
    // Prepare: day-long tokens, signed just before each rotation with the key that was current.
    const ttl = 86_400;
    const longPolicy = rotationPolicyFor({ accessTokenTtlSeconds: ttl });
    let document = (await rotateKeySet(undefined, now, longPolicy, generate)).document;
    const issued: { kid: string; verifiableUntil: number }[] = [];
    for (let rotation = 1; rotation <= 12; rotation++) {
      const at = now + rotation * days * DAY;
      // A function holding the old document may still sign for one cache period after the rotation.
      issued.push({ kid: document.current, verifiableUntil: at + KEY_CACHE_SECONDS + ttl + KEY_CACHE_SECONDS });
      const before = document;

      // Act
      document = (await rotateKeySet(document, at, longPolicy, generate)).document;

      // Assess: continuity holds, and every token still inside its window has its key published.
      checkContinuity(before, document);
      const published = new Set(document.keys.map((key) => key.kid));
      for (const token of issued) if (token.verifiableUntil > at) expect(published.has(token.kid)).toBe(true);
      // current, next, and the retired keys still inside their retention: the JWKS stays small.
      expect(document.keys.length).toBeLessThanOrEqual(2 + Math.ceil(longPolicy.retainSeconds / (days * DAY)));
    }
  });
});

describe('checkContinuity', () => {
  it.each([
    ['the current key disappears', (a: JWK, _b: JWK, c: JWK) => [documentOf([a]), documentOf([c])], 'would be unpublished'],
    ['an unpublished key starts signing', (a: JWK, _b: JWK, c: JWK) => [documentOf([a]), { current: c.kid!, keys: [c, a] }], 'was never published'],
  ])('refuses a new document when %s', async (_name, build, message) => {
    const [a, b, c] = [await generate(), await generate(), await generate()];
    const [before, after] = build(a, b, c) as [RotatingKeyDocument, RotatingKeyDocument];

    expect(() => checkContinuity(before, after)).toThrow(message);
  });

  it('accepts promoting a key that was already published', async () => {
    const [a, b] = [await generate(), await generate()];

    expect(() => checkContinuity(documentOf([a, b], { next: b.kid }), { current: b.kid!, keys: [a, b] })).not.toThrow();
  });
});
