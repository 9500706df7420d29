import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify, type JWK } from 'jose';
import { announceReady, exitWithParent } from './child-protocol';

/**
 * The floor of the proxy benchmark: the least a Node reverse proxy in front of
 * the same upstream can do while still checking the bearer token. It verifies
 * the JWT with jose against the one known key (signature, `typ`, `iss`, `aud`,
 * `exp`) and forwards the request with a keep-alive agent. It does none of
 * what Tollgate adds: no session lookup, no route rules or scopes, no rate
 * limit, no header policy, no API Gateway event in between, no metrics or logs.
 *
 * Env: BENCH_JWKS_URL, BENCH_ISSUER, BENCH_AUDIENCE, BENCH_UPSTREAM_URL,
 * BENCH_PREFIX (the path prefix to strip, `/proxy`).
 */
async function main(): Promise<void> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} must be set`);
    return value;
  };
  const issuer = env('BENCH_ISSUER');
  const audience = env('BENCH_AUDIENCE');
  const upstream = new URL(env('BENCH_UPSTREAM_URL'));
  const prefix = env('BENCH_PREFIX');
  const jwks = (await (await fetch(env('BENCH_JWKS_URL'))).json()) as { keys: JWK[] };
  const jwk = jwks.keys[0]!;
  const alg = jwk.alg ?? 'RS256';
  const key = await importJWK(jwk, alg);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'authorization']);

  const server = createServer((request, response) => {
    const fail = (status: number) => {
      if (!response.headersSent) response.writeHead(status, { 'content-length': 0 });
      response.end();
    };
    const authorization = request.headers.authorization ?? '';
    const url = request.url ?? '/';
    if (!authorization.startsWith('Bearer ') || !url.startsWith(`${prefix}/`)) return fail(401);
    jwtVerify(authorization.slice(7), key, { issuer, audience, algorithms: [alg], typ: 'at+jwt' }).then(
      () => {
        const headers: IncomingHttpHeaders = {};
        for (const [name, value] of Object.entries(request.headers)) if (!hopByHop.has(name)) headers[name] = value;
        const outgoing = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: request.method, path: url.slice(prefix.length), headers, agent },
          (answer) => {
            const back: IncomingHttpHeaders = {};
            for (const [name, value] of Object.entries(answer.headers)) if (!hopByHop.has(name)) back[name] = value;
            response.writeHead(answer.statusCode ?? 502, back);
            answer.pipe(response);
          },
        );
        outgoing.on('error', () => fail(502));
        request.pipe(outgoing);
      },
      () => fail(401),
    );
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  exitWithParent(async () => {
    server.closeAllConnections();
    server.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`minimal proxy failed: ${(error as Error).message}\n`);
  process.exit(1);
});
