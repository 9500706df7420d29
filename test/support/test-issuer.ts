import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK, type JWTHeaderParameters } from 'jose';

export interface TestIssuer {
  /** `http://127.0.0.1:<port>/<name>` */
  issuer: string;
  jwksUri: string;
  /** Signs claims with the issuer's current key (header overrides allowed, e.g. `kid`). */
  sign(claims: Record<string, unknown>, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** Adds a new key and makes it current (the old one stays published). */
  rotate(): Promise<void>;
  /** Signs with a key that is not published (an unknown `kid`). */
  signWithUnpublishedKey(claims: Record<string, unknown>): Promise<string>;
  currentKey(): { privateKey: CryptoKey; publicJwk: JWK; kid: string };
}

export interface TestIssuerServer {
  url: string;
  issuers: Record<string, TestIssuer>;
  /** Requests served, by path. */
  fetches: Map<string, number>;
  /** `down`: connections are reset; `slow`: answers after `delayMs`. */
  setMode(mode: 'up' | 'down' | 'slow', delayMs?: number): void;
  close(): Promise<void>;
}

async function newKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, kid };
}

/**
 * Real OpenID issuers on a loopback HTTP server: discovery and JWKS for each
 * name, signing with real RSA keys. Used in place of GitHub and Clerk.
 */
export async function startTestIssuers(names: string[]): Promise<TestIssuerServer> {
  const fetches = new Map<string, number>();
  let mode: 'up' | 'down' | 'slow' = 'up';
  let delayMs = 0;
  const keys = new Map<string, { privateKey: CryptoKey; publicJwk: JWK; kid: string }[]>();
  for (const name of names) keys.set(name, [await newKey()]);

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    if (mode === 'down') {
      request.socket.destroy();
      return;
    }
    const answer = () => {
      const match = path.match(/^\/([^/]+)\/\.well-known\/(openid-configuration|jwks\.json)$/);
      const set = match ? keys.get(match[1]!) : undefined;
      if (!match || !set) {
        response.writeHead(404).end();
        return;
      }
      const body =
        match[2] === 'openid-configuration'
          ? { issuer: `${url}/${match[1]}`, jwks_uri: `${url}/${match[1]}/.well-known/jwks.json` }
          : { keys: set.map((key) => key.publicJwk) };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (mode === 'slow') setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const issuers: Record<string, TestIssuer> = {};
  for (const name of names) {
    const issuer = `${url}/${name}`;
    const current = () => keys.get(name)!.at(-1)!;
    issuers[name] = {
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      currentKey: current,
      sign: (claims, header = {}) => {
        const key = current();
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey);
      },
      rotate: async () => {
        keys.get(name)!.push(await newKey());
      },
      signWithUnpublishedKey: async (claims) => {
        const key = await newKey();
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
      },
    };
  }
  return {
    url,
    issuers,
    fetches,
    setMode: (next, delay = 0) => {
      mode = next;
      delayMs = delay;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
