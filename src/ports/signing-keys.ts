import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export interface ActiveSigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
  /** The same private key prepared once for `node:crypto` (access tokens are signed with it). */
  signingKey: KeyObject;
}

/** The JWK set Tollgate signs with: the current private key and the public keys verifiers should trust. */
export interface SigningKeys {
  current: ActiveSigningKey;
  /** Public JWKs (current first, then the previous during rotation), `kid`/`alg`/`use` set. */
  publicJwks: JWK[];
  /** Public verification keys by `kid`. */
  verificationKey(kid: string): CryptoKey | undefined;
  /** The published key of `kid` prepared once for `node:crypto` (Tollgate's own verification path), with its algorithm. */
  preparedKey(kid: string): PreparedVerificationKey | undefined;
}

/** Loads the signing keys (cached by the implementation); throws `UnavailableError('signing_keys')` when it cannot. */
export interface SigningKeySource {
  load(): Promise<SigningKeys>;
}

/** A published key as `node:crypto` verifies with it: imported once per key set, never per token. */
export interface PreparedVerificationKey {
  kid: string;
  alg: string;
  key: KeyObject;
}
