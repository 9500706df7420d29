import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubActionsClaims, type GithubTokenOptions } from '../../src/local/dev-claims';
import type { TestIssuer } from '../support/test-issuer';

export interface ActionsOidcServer {
  /** What a runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it already has a query). */
  requestUrl: string;
  requestToken: string;
  /** Audiences asked for, in order, by accepted requests. */
  audiences: string[];
  /** Requests refused for a wrong or missing bearer. */
  refused: number;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the GitHub Actions OIDC token endpoint: checks the
 * bearer (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`) and answers `{"value": <jwt>}`
 * with a GitHub-shaped token for the requested `audience`, signed by a test
 * issuer. Anything else on it is a 404 (so it also plays "no Tollgate here").
 */
export async function startActionsOidcServer(issuer: TestIssuer, claims: GithubTokenOptions = {}): Promise<ActionsOidcServer> {
  const requestToken = 'runner-request-token-0123456789';
  const state = { audiences: [] as string[], refused: 0 };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== '/_apis/distributedtask/token') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (request.headers.authorization !== `Bearer ${requestToken}`) {
      state.refused++;
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"bad credentials"}');
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    state.audiences.push(audience);
    issuer
      .sign(githubActionsClaims(issuer.issuer, Math.floor(Date.now() / 1000), { ...claims, audience }))
      .then((value) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: value.length, value })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requestUrl: `http://127.0.0.1:${port}/_apis/distributedtask/token?api-version=2.0`,
    requestToken,
    get audiences() {
      return state.audiences;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
