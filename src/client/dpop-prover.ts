/**
 * The client's side of RFC 9449 (DPoP): one key pair per client, a proof per
 * request, and the server nonce to put in it. WebCrypto only, so it runs in
 * browsers, Workers and Node alike; no `node:` module, no dependency.
 */

/** The proof algorithms this client can sign with, by WebCrypto key algorithm. */
type ProofAlgorithm = { alg: 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256'; sign: AlgorithmIdentifier | EcdsaParams | RsaPssParams; members: string[] };

/** A key pair's JWS algorithm, its WebCrypto signing parameters and the public JWK members RFC 7638 needs. */
function proofAlgorithm(key: CryptoKey): ProofAlgorithm | undefined {
  const algorithm = key.algorithm as KeyAlgorithm & { namedCurve?: string; hash?: { name?: string } };
  const hash = algorithm.hash?.name;
  switch (algorithm.name) {
    case 'ECDSA':
      if (algorithm.namedCurve === 'P-256') return { alg: 'ES256', sign: { name: 'ECDSA', hash: 'SHA-256' }, members: ['kty', 'crv', 'x', 'y'] };
      if (algorithm.namedCurve === 'P-384') return { alg: 'ES384', sign: { name: 'ECDSA', hash: 'SHA-384' }, members: ['kty', 'crv', 'x', 'y'] };
      return undefined;
    case 'Ed25519':
      return { alg: 'EdDSA', sign: { name: 'Ed25519' }, members: ['kty', 'crv', 'x'] };
    case 'RSASSA-PKCS1-v1_5':
      return hash === 'SHA-256' ? { alg: 'RS256', sign: { name: 'RSASSA-PKCS1-v1_5' }, members: ['kty', 'n', 'e'] } : undefined;
    case 'RSA-PSS':
      return hash === 'SHA-256' ? { alg: 'PS256', sign: { name: 'RSA-PSS', saltLength: 32 }, members: ['kty', 'n', 'e'] } : undefined;
    default:
      return undefined;
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const encoder = new TextEncoder();

interface ReadyKey {
  pair: CryptoKeyPair;
  privateKey: CryptoKey;
  algorithm: ProofAlgorithm;
  /** The base64url protected header (`typ`, `alg`, public `jwk`): the same for every proof. */
  header: string;
}

/**
 * Makes DPoP proofs with one key pair: the given one, or (with `true`) a
 * fresh non-extractable ES256 pair made on first use, which script on the
 * page can use but never read out. Remembers the last `DPoP-Nonce` a Tollgate
 * response carried and puts it in every later proof (RFC 9449 §8–9).
 */
export class DpopProver {
  private key?: Promise<ReadyKey>;
  /** Keys adopted with another tab's tokens, prepared once each. */
  private readonly adopted = new WeakMap<CryptoKeyPair, Promise<ReadyKey>>();
  private nonce?: string;

  constructor(
    private readonly keyPairOption: true | CryptoKeyPair,
    private readonly clock: { now(): number },
  ) {
    if (typeof globalThis.crypto?.subtle?.sign !== 'function') {
      throw new TypeError('dpop needs WebCrypto (crypto.subtle): a browser secure context (https or localhost), Node 20+, or a Worker');
    }
    if (keyPairOption !== true && (!keyPairOption?.privateKey || !keyPairOption?.publicKey || !proofAlgorithm(keyPairOption.privateKey))) {
      throw new TypeError('dpop key pair must be ECDSA P-256/P-384, Ed25519, or RSASSA-PKCS1-v1_5/RSA-PSS with SHA-256');
    }
  }

  /**
   * A proof for one request: `htm` the method, `htu` the URL without query
   * and fragment, `ath` the access token's hash when one is sent, the
   * current server nonce if any, a fresh `jti` and `iat` now.
   */
  async proof(method: string, url: string, accessToken?: string, keyPair?: CryptoKeyPair): Promise<string> {
    const key = await (keyPair ? this.prepared(keyPair) : this.ready());
    const target = new URL(url);
    const claims: Record<string, unknown> = {
      jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
      htm: method,
      htu: `${target.origin}${target.pathname}`,
      iat: Math.floor(this.clock.now() / 1000),
    };
    if (accessToken !== undefined) claims.ath = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(accessToken))));
    if (this.nonce !== undefined) claims.nonce = this.nonce;
    const input = `${key.header}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
    const signature = new Uint8Array(await crypto.subtle.sign(key.algorithm.sign, key.privateKey, encoder.encode(input)));
    return `${input}.${base64url(signature)}`;
  }

  /** Keeps the `DPoP-Nonce` of a Tollgate response; returns true when it is new. */
  observe(response: Response): boolean {
    const nonce = response.headers.get('dpop-nonce')?.trim();
    if (!nonce || nonce === this.nonce) return false;
    this.nonce = nonce;
    return true;
  }

  /** The client's own key pair (made on first use with `dpop: true`). */
  async keyPair(): Promise<CryptoKeyPair> {
    return (await this.ready()).pair;
  }

  /** A key pair that came with a session another holder of the storage started (another tab's). */
  private prepared(pair: CryptoKeyPair): Promise<ReadyKey> {
    let ready = this.adopted.get(pair);
    if (!ready) {
      ready = this.load(pair);
      this.adopted.set(pair, ready);
    }
    return ready;
  }

  private ready(): Promise<ReadyKey> {
    if (!this.key) {
      this.key = this.load();
      // A failed key generation is not kept: the next request tries again.
      this.key.catch(() => {
        this.key = undefined;
      });
    }
    return this.key;
  }

  private async load(given?: CryptoKeyPair): Promise<ReadyKey> {
    const pair =
      given ??
      (this.keyPairOption === true
        ? ((await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair)
        : this.keyPairOption);
    const algorithm = proofAlgorithm(pair.privateKey)!;
    // A public key is always exportable, even when its private half is not.
    const exported = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as Record<string, unknown>;
    const jwk: Record<string, unknown> = {};
    for (const member of algorithm.members) jwk[member] = exported[member];
    const header = base64url(encoder.encode(JSON.stringify({ typ: 'dpop+jwt', alg: algorithm.alg, jwk })));
    return { pair, privateKey: pair.privateKey, algorithm, header };
  }
}
