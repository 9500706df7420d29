import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { SigningKeys } from '../ports/signing-keys';

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

/** Generates one signing key as a private JWK with `kid` (RFC 7638 thumbprint), `alg` and `use`. */
export async function generateSigningJwk(alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

export async function generateSigningKeyDocument(alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<SigningKeyDocument> {
  const jwk = await generateSigningJwk(alg);
  return { current: jwk.kid!, keys: [jwk] };
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

/** Imports a document into ready-to-use keys. */
export async function importSigningKeys(document: SigningKeyDocument): Promise<SigningKeys> {
  const verification = new Map<string, CryptoKey>();
  let current: SigningKeys['current'] | undefined;
  const publicJwks: JWK[] = [];
  const ordered = [...document.keys].sort((a, b) => Number(b.kid === document.current) - Number(a.kid === document.current));
  for (const jwk of ordered) {
    const pub = publicJwk(jwk);
    publicJwks.push(pub);
    verification.set(jwk.kid!, (await importJWK(pub, jwk.alg)) as CryptoKey);
    if (jwk.kid === document.current) {
      current = { kid: jwk.kid, alg: jwk.alg!, key: (await importJWK(jwk, jwk.alg)) as CryptoKey };
    }
  }
  return { current: current!, publicJwks, verificationKey: (kid) => verification.get(kid) };
}
