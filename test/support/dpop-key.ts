import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { accessTokenHash } from '../../src/domain/dpop-proof';

/** What a test proof says; anything unset gets a valid default (a fresh `jti`, `iat` now). */
export interface ProofClaims {
  htm: string;
  htu: string;
  /** The access token whose hash goes in `ath`. */
  accessToken?: string;
  nonce?: string;
  iat?: number;
  jti?: string;
  /** Claims set (or, as `undefined`, removed) after the defaults. */
  extra?: Record<string, unknown>;
}

/** A client's DPoP key pair, signing real RFC 9449 proofs with jose (ES256 unless told). */
export class DpopTestKey {
  private constructor(
    readonly alg: string,
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    /** RFC 7638 thumbprint: what `cnf.jkt` names. */
    readonly jkt: string,
    private readonly nowSeconds: () => number,
  ) {}

  static async generate(options: { alg?: string; nowSeconds?: () => number } = {}): Promise<DpopTestKey> {
    const alg = options.alg ?? 'ES256';
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    return new DpopTestKey(alg, privateKey, publicJwk, await calculateJwkThumbprint(publicJwk), options.nowSeconds ?? (() => Math.floor(Date.now() / 1000)));
  }

  /** A proof; `header` overrides (or, as `undefined`, removes) protected header members. */
  async proof(claims: ProofClaims, header: Record<string, unknown> = {}, signingKey: CryptoKey = this.privateKey): Promise<string> {
    const payload: Record<string, unknown> = {
      jti: claims.jti ?? crypto.randomUUID(),
      htm: claims.htm,
      htu: claims.htu,
      iat: claims.iat ?? this.nowSeconds(),
      ...(claims.accessToken !== undefined ? { ath: await accessTokenHash(claims.accessToken) } : {}),
      ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
      ...claims.extra,
    };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    const protectedHeader: Record<string, unknown> = { alg: this.alg, typ: 'dpop+jwt', jwk: this.publicJwk, ...header };
    for (const [name, value] of Object.entries(protectedHeader)) if (value === undefined) delete protectedHeader[name];
    return new SignJWT(payload).setProtectedHeader(protectedHeader as never).sign(signingKey);
  }
}
