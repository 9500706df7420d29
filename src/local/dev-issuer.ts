import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, importJWK, type JWK } from 'jose';
import { generateSigningJwk, publicJwk } from '../adapters/jwk-set';
import { clerkSessionClaims, githubActionsClaims, type ClerkTokenOptions, type GithubTokenOptions } from './dev-claims';

/** Where the dev issuer lives on the local server. Local mode only: never deployed. */
export const DEV_ISSUER_PREFIX = '/dev';

export interface DevIssuer {
  githubIssuer: string;
  clerkIssuer: string;
  mint(request: DevMintRequest): Promise<string>;
  /** Handles `/dev/...` requests; false when the path is not the dev issuer's. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
}

export type DevMintRequest = ({ kind: 'ci' } & GithubTokenOptions) | ({ kind: 'user' } & ClerkTokenOptions);

/**
 * A development identity provider: serves OpenID discovery and a JWKS for a
 * GitHub-like issuer (`/dev/github`) and a Clerk-like one (`/dev/clerk`), and
 * mints their tokens at `POST /dev/mint`. Its key is kept in `keyFile` so
 * tokens survive a restart.
 */
export async function createDevIssuer(baseUrl: string, keyFile: string): Promise<DevIssuer> {
  let jwk: JWK;
  if (existsSync(keyFile)) {
    jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  } else {
    jwk = await generateSigningJwk('RS256');
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  const privateKey = await importJWK(jwk, 'RS256');
  const jwks = { keys: [publicJwk(jwk)] };
  const githubIssuer = `${baseUrl}${DEV_ISSUER_PREFIX}/github`;
  const clerkIssuer = `${baseUrl}${DEV_ISSUER_PREFIX}/clerk`;
  const jwksPaths: Record<string, string> = {
    [`${DEV_ISSUER_PREFIX}/github`]: `${githubIssuer}/.well-known/jwks`,
    [`${DEV_ISSUER_PREFIX}/clerk`]: `${clerkIssuer}/.well-known/jwks.json`,
  };

  async function mint(request: DevMintRequest): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims =
      request.kind === 'ci' ? githubActionsClaims(githubIssuer, now, request) : clerkSessionClaims(clerkIssuer, now, request);
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid!, typ: 'JWT' }).sign(privateKey);
  }

  function reply(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
  }

  function handle(request: IncomingMessage, response: ServerResponse): boolean {
    const path = (request.url ?? '/').split('?')[0]!;
    if (!path.startsWith(`${DEV_ISSUER_PREFIX}/`)) return false;
    if (request.method === 'GET') {
      for (const [prefix, jwksUri] of Object.entries(jwksPaths)) {
        if (path === `${prefix}/.well-known/openid-configuration`) {
          reply(response, 200, { issuer: `${baseUrl}${prefix}`, jwks_uri: jwksUri, id_token_signing_alg_values_supported: ['RS256'] });
          return true;
        }
        if (`${baseUrl}${path}` === jwksUri) {
          reply(response, 200, jwks);
          return true;
        }
      }
    }
    if (request.method === 'POST' && path === `${DEV_ISSUER_PREFIX}/mint`) {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body: DevMintRequest;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as DevMintRequest;
        } catch {
          return reply(response, 400, { error: 'invalid_request', error_description: 'body must be JSON' });
        }
        if (body.kind !== 'ci' && body.kind !== 'user') {
          return reply(response, 400, { error: 'invalid_request', error_description: 'kind must be ci or user' });
        }
        mint(body).then(
          (token) => reply(response, 200, { token }),
          () => reply(response, 500, { error: 'server_error' }),
        );
      });
      return true;
    }
    reply(response, 404, { error: 'not_found' });
    return true;
  }

  return { githubIssuer, clerkIssuer, mint, handle };
}
