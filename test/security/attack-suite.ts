import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTHeaderParameters } from 'jose';
import type { TollgateConfigInput } from '../../src/config/config';
import { startTokenSuite, trustConfig, type TokenBody, type TokenSuite } from '../integration/token-fixtures';
import { rawRequest, startTestUpstream, type RawAnswer, type TestUpstream } from '../services/proxy-harness';
import type { TestClock } from '../support/clock';
import { captureLogs, type LogCapture } from '../support/log-capture';
import { snapshotStore, type StoreSnapshot } from '../support/store-snapshot';
import { startTestTollgate, type TestTollgate } from '../support/tollgate';

/**
 * The shared set-up of the attack suites (`test/security/`): the whole local
 * Tollgate over HTTP with its proxy in front of a recording upstream, the
 * token suites' issuers (GitHub-like, Clerk-like, and `stranger`, whom
 * Tollgate does not trust), a second Tollgate deployment with its own issuer
 * and keys, a loopback canary that counts every fetch an attacker's `jku` or
 * `x5u` header could cause, and a capture of every log line, so each suite
 * can end by asserting that no token or secret it handled was logged.
 */

export const SUITE_ROUTES: NonNullable<TollgateConfigInput['proxy']>['routes'] = [
  { name: 'orders-read', methods: ['GET', 'HEAD'], path: '/orders/**', scopes: ['orders:read'] },
  { name: 'orders-write', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/orders/**', scopes: ['orders:write'] },
  { name: 'deploy', methods: ['POST'], path: '/deployments', scopes: ['deploy'] },
];
/** The other deployment's issuer. */
export const OTHER_ISSUER = 'https://other-tollgate.example.com';
const API_KEY_ENV = 'TOLLGATE_ATTACK_SUITE_API_KEY';

/** A loopback server an attacker's header points at; it must never be asked anything. */
export interface Canary {
  url: string;
  /** The attacker's key pair, published by the canary at `/jwks.json` (so a fetch would even succeed). */
  privateKey: CryptoKey;
  publicJwk: JWK;
  hits: string[];
  close(): Promise<void>;
}

async function startCanary(): Promise<Canary> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'RS256', use: 'sig' };
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '/');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    privateKey,
    publicJwk,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AttackSuite extends TokenSuite {
  upstream: TestUpstream;
  /** A second deployment (issuer `OTHER_ISSUER`, its own signing keys and store) trusting the same issuers. */
  other: TestTollgate;
  canary: Canary;
  logs: LogCapture;
  /** The upstream credential Tollgate injects (a secret: never logged). */
  apiKey: string;
  /** Remembers a value that must never appear in a log line (a JWT also by its signature, a refresh token by its secret); returns it. */
  secret(value: string): string;
  secrets(): string[];
  /** Every item of both tables but the rate-limit counters. */
  snapshot(): Promise<StoreSnapshot>;
  /** Signs claims with Tollgate's own current signing key (what only Tollgate can do). */
  signWithTollgateKey(claims: Record<string, unknown>, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** One request to `/proxy/...`, path sent exactly as given. */
  proxy(options: Parameters<typeof rawRequest>[1]): Promise<RawAnswer>;
}

/** Starts the capture first, then everything else, with every rate limit out of the way (the suites send many requests from one address). */
export async function startAttackSuite(options: { clock?: TestClock } = {}): Promise<AttackSuite> {
  const logs = captureLogs();
  const remembered = new Set<string>();
  const secret = (value: string) => {
    remembered.add(value);
    const last = value.includes('.') ? value.split('.').at(-1)! : '';
    if (last.length >= 16) remembered.add(last);
    return value;
  };
  const apiKey = secret(`attack-suite-key-${randomBytes(12).toString('hex')}`);
  process.env[API_KEY_ENV] = apiKey;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const observability = () => ({
    logger: new Logger({ serviceName: 'tollgate-attack-suite', logLevel: 'DEBUG' }),
    metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-attack-suite' }),
  });

  const upstream = await startTestUpstream();
  const canary = await startCanary();
  const base = await startTokenSuite({
    clock: options.clock,
    extraIssuers: ['stranger'],
    observability: observability(),
    config: {
      proxy: {
        upstreamUrl: upstream.url,
        routes: SUITE_ROUTES,
        upstreamAuth: { type: 'header', name: 'X-Api-Key', value: `env:${API_KEY_ENV}` },
      },
      rateLimit: { requestsPerMinute: 1_000_000, tokenRequestsPerMinutePerSubject: 1_000_000, tokenRequestsPerMinutePerIp: 1_000_000 },
    },
  });
  const other = await startTestTollgate({
    config: { issuer: OTHER_ISSUER, trust: trustConfig(base.github, base.clerk), rateLimit: { tokenRequestsPerMinutePerIp: 1_000_000 } },
    clock: options.clock,
    observability: observability(),
  });

  const suite: AttackSuite = {
    ...base,
    upstream,
    other,
    canary,
    logs,
    apiKey,
    secret,
    secrets: () => [...remembered],
    async session(kind, extra = {}) {
      const subject = secret(kind === 'ci' ? await base.githubToken() : await base.clerkToken());
      const answer = await base.tollgate.exchange(subject, extra);
      if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
      const body = answer.json as TokenBody;
      secret(body.access_token);
      secret(body.refresh_token);
      return body;
    },
    githubToken: async (githubOptions) => secret(await base.githubToken(githubOptions)),
    clerkToken: async (clerkOptions) => secret(await base.clerkToken(clerkOptions)),
    snapshot: () => snapshotStore(base.db, base.tollgate.tables),
    async signWithTollgateKey(claims, header = {}) {
      const { current } = await base.tollgate.services.signingKeys.load();
      return secret(await new SignJWT(claims).setProtectedHeader({ alg: current.alg, kid: current.kid, typ: 'at+jwt', ...header }).sign(current.key));
    },
    proxy: (request) => rawRequest(base.tollgate.baseUrl, request),
    async close() {
      try {
        await other.close();
        await base.close();
        await canary.close();
        await upstream.close();
      } finally {
        delete process.env[API_KEY_ENV];
        logs.stop();
      }
    },
  };
  return suite;
}

/** The proxy's refusal bodies (docs/proxy.md, Errors). */
export const PROXY_REFUSALS = {
  AUTH_REQUIRED: { status: 401, body: { error: 'auth_required', error_description: 'a bearer access token is required', code: 'AUTH_REQUIRED' }, challenge: 'Bearer realm="tollgate"' },
  TOKEN_INVALID: { status: 401, body: { error: 'invalid_token', error_description: 'the access token is not valid', code: 'TOKEN_INVALID' }, challenge: 'Bearer error="invalid_token"' },
  TOKEN_EXPIRED: { status: 401, body: { error: 'invalid_token', error_description: 'the access token has expired', code: 'TOKEN_EXPIRED' }, challenge: 'Bearer error="invalid_token"' },
  SESSION_ENDED: { status: 401, body: { error: 'invalid_token', error_description: 'the session has ended', code: 'SESSION_ENDED' }, challenge: 'Bearer error="invalid_token"' },
  INVALID_PATH: { status: 400, body: { error: 'invalid_request', error_description: 'the request path is not allowed', code: 'INVALID_PATH' }, challenge: undefined },
  ROUTE_NOT_ALLOWED: { status: 403, body: { error: 'route_not_allowed', error_description: 'no proxy route allows this request', code: 'ROUTE_NOT_ALLOWED' }, challenge: undefined },
} as const;

export type ProxyRefusal = keyof typeof PROXY_REFUSALS;

/** The last test of each attack suite: nothing it sent or received was ever logged. */
export function expectNothingLogged(suite: AttackSuite): void {
  expect(suite.logs.entries().length).toBeGreaterThan(0);
  expect(suite.logs.leaks(suite.secrets())).toEqual([]);
}

/** `{header}.{payload}.{signature}` with JSON header and payload, as an attacker writes it by hand. */
export function handMadeJwt(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${signature}`;
}
