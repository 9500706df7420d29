import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { createPrivateKey, createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import type { SigningAlg } from '../config/config-rules';
import type { PreparedVerificationKey, SigningKeys } from '../ports/signing-keys';
import { publicJwk, type SigningKeyDocument } from '../domain/signing-key-document';

// The document's shape and parser are domain (the rotation steps read them too); kept importable from here.
export { parseSigningKeyDocument, publicJwk, type SigningKeyDocument } from '../domain/signing-key-document';

/** Generates one signing key as a private JWK with `kid` (RFC 7638 thumbprint), `alg` and `use`. */
export async function generateSigningJwk(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

export async function generateSigningKeyDocument(alg: SigningAlg): Promise<SigningKeyDocument> {
  const jwk = await generateSigningJwk(alg);
  return { current: jwk.kid!, keys: [jwk] };
}

/** Imports a document into ready-to-use keys. */
export async function importSigningKeys(document: SigningKeyDocument): Promise<SigningKeys> {
  const verification = new Map<string, CryptoKey>();
  const prepared = new Map<string, PreparedVerificationKey>();
  let current: SigningKeys['current'] | undefined;
  const publicJwks: JWK[] = [];
  const ordered = [...document.keys].sort((a, b) => Number(b.kid === document.current) - Number(a.kid === document.current));
  for (const jwk of ordered) {
    const pub = publicJwk(jwk);
    publicJwks.push(pub);
    verification.set(jwk.kid!, (await importJWK(pub, jwk.alg)) as CryptoKey);
    // Imported once here, so verifying a token never parses a key (docs/performance.md, "Verify").
    prepared.set(jwk.kid!, { kid: jwk.kid!, alg: jwk.alg!, key: createPublicKey({ key: pub, format: 'jwk' } as JsonWebKeyInput) });
    if (jwk.kid === document.current) {
      current = {
        kid: jwk.kid,
        alg: jwk.alg!,
        key: (await importJWK(jwk, jwk.alg)) as CryptoKey,
        signingKey: createPrivateKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput),
      };
    }
  }
  return { current: current!, publicJwks, verificationKey: (kid) => verification.get(kid), preparedKey: (kid) => prepared.get(kid) };
}
