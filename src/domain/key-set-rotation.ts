import type { JWK } from 'jose';
import { JWKS_MAX_AGE_SECONDS } from '../contract/well-known';
import { parseSigningKeyDocument, type SigningKeyDocument } from './signing-key-document';
import { RotationError } from './rotation-error';

/**
 * The signing key document with the bookkeeping rotation needs. The extra
 * members are ignored by the token functions (`parseSigningKeyDocument` reads
 * `current` and `keys` only) and never published: the JWKS carries the public
 * members of `keys` alone.
 */
export interface RotatingKeyDocument extends SigningKeyDocument {
  /** A published key that becomes `current` at the next rotation. */
  next?: string;
  /** When each key was added to the set (epoch seconds). */
  publishedAt?: Record<string, number>;
  /** When each former `current` key stopped signing (epoch seconds). */
  retiredAt?: Record<string, number>;
}

/**
 * How long keys are kept around a rotation, in seconds.
 *
 * A key may sign only once every cache that could verify its tokens holds it;
 * a retired key stays published until every token it signed has expired and
 * every cache has seen that it is gone.
 */
export interface RotationPolicy {
  /** A staged key is promoted only after being published this long. */
  promotionDelaySeconds: number;
  /** A retired key is removed only after this long. */
  retainSeconds: number;
}

/**
 * The longest any party keeps an old view of the key set: the token functions'
 * key cache (`CachedSigningKeySource`, 300 s) and verifiers' JWKS cache
 * (`Cache-Control: max-age` on the JWKS, 300 s).
 */
export const KEY_CACHE_SECONDS = Math.max(JWKS_MAX_AGE_SECONDS, 300);

/** Leeway for verifiers' clocks and for requests in flight across a rotation. */
export const ROTATION_MARGIN_SECONDS = 300;

/**
 * The policy for a deployment's config. A retired key may still sign for one
 * cache period (functions holding the old document), its last token lives
 * `accessTokenTtlSeconds`, and verifiers may hold an old JWKS for another
 * cache period, plus the margin.
 */
export function rotationPolicyFor(config: { readonly accessTokenTtlSeconds: number }): RotationPolicy {
  return {
    promotionDelaySeconds: 2 * KEY_CACHE_SECONDS + ROTATION_MARGIN_SECONDS,
    retainSeconds: KEY_CACHE_SECONDS + config.accessTokenTtlSeconds + KEY_CACHE_SECONDS + ROTATION_MARGIN_SECONDS,
  };
}

/** What a rotation changed, by key id (key ids are public). */
export interface RotationOutcome {
  document: RotatingKeyDocument;
  /** The key that started signing, if any. */
  promoted?: string;
  /** The key added and published for the next rotation, if any. */
  staged?: string;
  removed: string[];
  /** True when the secret held the empty document the stack deploys. */
  bootstrapped: boolean;
}

/**
 * Reads the text of the secret for rotation: the deployed empty document
 * (`{"current":"","keys":[]}`) is `undefined`, anything else must be a valid
 * signing key document. Errors never contain key material.
 */
export function parseRotatingKeyDocument(text: string): RotatingKeyDocument | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RotationError('INVALID_DOCUMENT', 'the secret is not valid JSON');
  }
  const candidate = raw as Partial<RotatingKeyDocument> | null;
  if (candidate && Array.isArray(candidate.keys) && candidate.keys.length === 0 && !candidate.current) return undefined;
  let document: SigningKeyDocument;
  try {
    document = parseSigningKeyDocument(text);
  } catch (error) {
    throw new RotationError('INVALID_DOCUMENT', (error as Error).message);
  }
  const rotating = document as RotatingKeyDocument;
  if (rotating.next !== undefined && !document.keys.some((key) => key.kid === rotating.next)) {
    throw new RotationError('INVALID_DOCUMENT', 'signing key document: next names no key');
  }
  for (const member of ['publishedAt', 'retiredAt'] as const) {
    const times = rotating[member];
    if (times === undefined) continue;
    if (typeof times !== 'object' || times === null || Object.values(times).some((value) => typeof value !== 'number')) {
      throw new RotationError('INVALID_DOCUMENT', `signing key document: ${member} must map key ids to epoch seconds`);
    }
  }
  return rotating;
}

/**
 * One rotation of the key set, as a pure function of the current document and
 * the time:
 *
 * 1. The staged `next` key, published at the previous rotation, becomes
 *    `current` once it has been published for `promotionDelaySeconds`; the
 *    old `current` is marked retired. (No staged key, or a staged key too
 *    young: nothing is promoted, so no cache ever meets an unknown `kid`.)
 * 2. A fresh key is generated and staged as `next` (published now, signing
 *    from the next rotation), unless a staged key is still waiting.
 * 3. Keys retired for `retainSeconds` are removed; a key that is neither
 *    `current` nor `next` and has no retirement time is marked retired now.
 *
 * From the empty deployed document it creates the first key (signing at once:
 * nothing can have cached a key set yet) and stages the second.
 *
 * With `alg` (the configured `signing.alg`), a staged key of another
 * algorithm (staged before the config changed) is never promoted: it is
 * retired unused and a key of `alg` is staged in its place, to sign from the
 * next rotation. The current key keeps signing meanwhile, so a change of
 * algorithm takes two rotations and no cache ever meets an unpublished key.
 */
export async function rotateKeySet(
  document: RotatingKeyDocument | undefined,
  now: number,
  policy: RotationPolicy,
  generateKey: () => Promise<JWK>,
  alg?: string,
): Promise<RotationOutcome> {
  if (!document) {
    const first = await generateKey();
    const second = await generateKey();
    return {
      document: {
        current: first.kid!,
        next: second.kid!,
        keys: [first, second],
        publishedAt: { [first.kid!]: now, [second.kid!]: now },
        retiredAt: {},
      },
      promoted: first.kid!,
      staged: second.kid!,
      removed: [],
      bootstrapped: true,
    };
  }

  const publishedAt = { ...(document.publishedAt ?? {}) };
  const retiredAt = { ...(document.retiredAt ?? {}) };
  let { current, next } = document;
  let keys = [...document.keys];
  let promoted: string | undefined;
  let staged: string | undefined;

  // A staged key of another algorithm than the configured one is retired unused (it never signed).
  if (next && alg !== undefined && keys.find((key) => key.kid === next)?.alg !== alg) {
    retiredAt[next] = now;
    next = undefined;
  }
  // A staged key without a publication time predates this bookkeeping: its age is unknown, so its clock starts now.
  if (next && publishedAt[next] === undefined) publishedAt[next] = now;
  if (next && now - publishedAt[next]! >= policy.promotionDelaySeconds) {
    retiredAt[current] = now;
    promoted = next;
    current = next;
    next = undefined;
  }
  if (!next) {
    const fresh = await generateKey();
    keys.push(fresh);
    publishedAt[fresh.kid!] = now;
    staged = fresh.kid!;
    next = fresh.kid!;
  }

  const removed: string[] = [];
  keys = keys.filter((key) => {
    const kid = key.kid!;
    if (kid === current || kid === next) return true;
    retiredAt[kid] ??= now;
    if (now - retiredAt[kid]! >= policy.retainSeconds) {
      removed.push(kid);
      return false;
    }
    return true;
  });
  for (const kid of removed) {
    delete retiredAt[kid];
    delete publishedAt[kid];
  }
  delete retiredAt[current];

  return { document: { current, next, keys, publishedAt, retiredAt }, promoted, staged, removed, bootstrapped: false };
}

/**
 * The invariants a new document must keep against the one verifiers hold
 * now, so that no valid token stops verifying and no cache meets an unknown
 * key: the key that signs now is still published, and the key that will sign
 * was already published (except when the old document was the empty one).
 */
export function checkContinuity(before: RotatingKeyDocument | undefined, after: RotatingKeyDocument): void {
  if (!before) return;
  const afterKids = new Set(after.keys.map((key) => key.kid));
  if (!afterKids.has(before.current)) {
    throw new RotationError('CONTINUITY', `the signing key ${before.current} would be unpublished while its tokens are valid`);
  }
  if (after.current !== before.current && !before.keys.some((key) => key.kid === after.current)) {
    throw new RotationError('CONTINUITY', `the new signing key ${after.current} was never published before signing`);
  }
}
