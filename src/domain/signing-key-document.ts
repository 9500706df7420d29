import type { JWK } from 'jose';

/**
 * The signing key document, as kept in Secrets Manager (AWS) or a git-ignored
 * file (local runtime): `{ "current": "<kid>", "keys": [<private JWK>, …] }`.
 * Every key's public part is published in the JWKS; only `current` signs.
 * Rotation adds a key and later moves `current` to it, keeping the previous
 * key until every token it signed has expired.
 */
export interface SigningKeyDocument {
  current: string;
  keys: JWK[];
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

/** The public members of a JWK (never `d` and friends), with `kid`, `alg`, `use: "sig"`. */
export function publicJwk(jwk: JWK): JWK {
  const pub: JWK = { ...jwk, use: 'sig' };
  for (const member of PRIVATE_MEMBERS) delete (pub as Record<string, unknown>)[member];
  delete pub.key_ops;
  return pub;
}

/** Validates the document's shape; throws with a message that never contains key material. */
export function parseSigningKeyDocument(text: string): SigningKeyDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('signing key document is not valid JSON');
  }
  const candidate = document as Partial<SigningKeyDocument>;
  if (!candidate || typeof candidate.current !== 'string' || !Array.isArray(candidate.keys)) {
    throw new Error('signing key document must be { current, keys[] }');
  }
  for (const key of candidate.keys) {
    if (!key || typeof key.kid !== 'string' || typeof key.alg !== 'string' || typeof key.d !== 'string') {
      throw new Error('every signing key needs kid, alg and private members');
    }
  }
  if (!candidate.keys.some((key) => key.kid === candidate.current)) {
    throw new Error('signing key document: current names no key');
  }
  return candidate as SigningKeyDocument;
}
