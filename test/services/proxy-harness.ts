import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { TollgateConfigInput } from '../../src/config/config';
import type { Clock } from '../../src/domain/clock';
import type { Observability } from '../../src/http/middleware';
import { githubActionsClaims, clerkSessionClaims, type ClerkTokenOptions, type GithubTokenOptions } from '../../src/local/dev-claims';
import { startLocalTollgate, type LocalTollgate } from '../../src/local/local-tollgate';
import { postForm } from '../support/http';
import type { TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';

/** What the test upstream received: the raw request line's path, headers as pairs, exact body bytes. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Buffer;
}

export type UpstreamBehaviour = (request: ReceivedRequest, response: ServerResponse, socket: Socket) => void;

/** A real HTTP upstream on loopback that records every request and answers as the current behaviour says. */
export interface TestUpstream {
  url: string;
  received: ReceivedRequest[];
  /** Replaces how the upstream answers (default: 200 JSON `{ ok: true }`). */
  behave(behaviour: UpstreamBehaviour): void;
  header(request: ReceivedRequest, name: string): string[];
  close(): Promise<void>;
}

export const OK_JSON: UpstreamBehaviour = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
};

export async function startTestUpstream(): Promise<TestUpstream> {
  const received: ReceivedRequest[] = [];
  let behaviour: UpstreamBehaviour = OK_JSON;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) headers.push([request.rawHeaders[i]!.toLowerCase(), request.rawHeaders[i + 1]!]);
      const entry = { method: request.method ?? '', url: request.url ?? '', headers, body: Buffer.concat(chunks) };
      received.push(entry);
      behaviour(entry, response, request.socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    behave: (next) => {
      behaviour = next;
    },
    header: (request, name) => request.headers.filter(([key]) => key === name.toLowerCase()).map(([, value]) => value),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A log line the server wrote: its level, message and fields. */
export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A Powertools logger that keeps every line it is asked to write (and writes none). */
export class RecordingLogger extends Logger {
  readonly lines: LogLine[] = [];

  constructor() {
    super({ serviceName: 'tollgate-test', logLevel: 'DEBUG' });
  }

  private record(level: string, input: unknown, extra: unknown[]): void {
    const fields = Object.assign({}, ...extra.filter((item) => item && typeof item === 'object'));
    this.lines.push({ level, message: typeof input === 'string' ? input : JSON.stringify(input), fields });
  }

  override info(input: Parameters<Logger['info']>[0], ...extra: unknown[]): void {
    this.record('INFO', input, extra);
  }

  override warn(input: Parameters<Logger['warn']>[0], ...extra: unknown[]): void {
    this.record('WARN', input, extra);
  }

  override error(input: Parameters<Logger['error']>[0], ...extra: unknown[]): void {
    this.record('ERROR', input, extra);
  }

  /** Every line as one string, to search for things that must never be logged. */
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export function recordingObservability(): Observability & { logger: RecordingLogger } {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return { logger: new RecordingLogger(), metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-test' }) };
}

export interface ProxyTollgateOptions {
  issuers: TestIssuerServer;
  proxy?: TollgateConfigInput['proxy'];
  rateLimit?: TollgateConfigInput['rateLimit'];
  clock?: Clock;
  /** Share a store (and tables) with another Tollgate. */
  store?: { endpoint: string; tables: { sessions: string; guards: string } };
  /** Share signing keys with another Tollgate. */
  dataDir?: string;
  /** A fixed issuer, so two Tollgates accept each other's tokens. */
  issuer?: string;
  observability?: Observability;
}

/** The trust config the proxy suites use: a GitHub-like ci issuer and a Clerk-like user issuer on loopback. */
export function trustFor(issuers: TestIssuerServer): TollgateConfigInput['trust'] {
  return [
    {
      name: 'github',
      issuer: issuers.issuers.github!.issuer,
      kind: 'ci',
      audiences: ['tollgate'],
      rules: [
        { claims: { repository_id: '74' }, scopes: ['orders:read'] },
        { claims: { repository_id: '74', ref: 'refs/heads/main' }, scopes: ['orders:write', 'deploy'] },
      ],
    },
    {
      name: 'clerk',
      issuer: issuers.issuers.clerk!.issuer,
      kind: 'user',
      authorizedParties: ['https://app.example.com'],
      rules: [{ claims: { sub: 'user_*' }, scopes: ['orders:read'] }],
    },
  ];
}

export async function startProxyTollgate(options: ProxyTollgateOptions): Promise<LocalTollgate> {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return startLocalTollgate({
    port: 0,
    config: {
      ...(options.issuer ? { issuer: options.issuer } : {}),
      trust: trustFor(options.issuers),
      ...(options.proxy ? { proxy: options.proxy } : {}),
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    },
    dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'tollgate-proxy-')),
    dynamodbEndpoint: options.store?.endpoint,
    tables: options.store?.tables,
    clock: options.clock,
    observability: options.observability ?? recordingObservability(),
  });
}

/** Exchanges a GitHub Actions token of repository 74 (`orders:read`, and on main `orders:write deploy`) for an access token. */
export async function ciAccessToken(
  tollgate: LocalTollgate,
  issuers: TestIssuerServer,
  options: GithubTokenOptions & { nowSeconds?: number; scope?: string } = {},
): Promise<{ access_token: string; refresh_token: string; scope: string }> {
  const github = issuers.issuers.github!;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const subject = await github.sign(githubActionsClaims(github.issuer, now, { repositoryId: '74', ownerId: '65', ...options }));
  const answer = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject, ...(options.scope ? { scope: options.scope } : {}) });
  if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
  return answer.json;
}

/** Exchanges a Clerk session token (`orders:read`) for an access token. */
export async function userAccessToken(
  tollgate: LocalTollgate,
  issuers: TestIssuerServer,
  options: ClerkTokenOptions & { nowSeconds?: number } = {},
): Promise<{ access_token: string; refresh_token: string }> {
  const clerk = issuers.issuers.clerk!;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const subject = await clerk.sign(clerkSessionClaims(clerk.issuer, now, { azp: 'https://app.example.com', ...options }));
  const answer = await postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject });
  if (answer.status !== 200) throw new Error(`exchange failed: ${answer.status} ${answer.text}`);
  return answer.json;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
}

/**
 * One request with the path sent exactly as given: `fetch` (WHATWG URL)
 * would resolve `..` and `%2e` segments before they ever left the client.
 */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: Buffer | string },
): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise<RawAnswer>((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers: options.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, json });
        });
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A streamed answer as the client met it: when each chunk arrived, and how it ended. */
export interface StreamedAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Milliseconds from sending the request to the response's head. */
  headAtMs: number;
  chunks: { atMs: number; data: Buffer }[];
  body: Buffer;
  /** `complete` when the body ended properly; `cut` when the connection ended before it did. */
  ending: 'complete' | 'cut';
}

/**
 * One request whose answer is read as it streams: the time each chunk
 * arrives, and whether the body ended properly or was cut (a response ended
 * abruptly after its head, as a streamed proxy ends one whose upstream failed).
 */
export function streamedRequest(baseUrl: string, options: { method?: string; path: string; headers?: Record<string, string> }): Promise<StreamedAnswer> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise<StreamedAnswer>((resolve, reject) => {
    const outgoing = httpRequest({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers: options.headers, agent: false }, (response) => {
      const headAtMs = performance.now() - started;
      const chunks: { atMs: number; data: Buffer }[] = [];
      let settled = false;
      const finish = (ending: 'complete' | 'cut') => {
        if (settled) return;
        settled = true;
        const body = Buffer.concat(chunks.map((chunk) => chunk.data));
        resolve({ status: response.statusCode ?? 0, headers: response.headers, headAtMs, chunks, body, ending });
      };
      response.on('data', (data: Buffer) => chunks.push({ atMs: performance.now() - started, data }));
      response.on('end', () => finish(response.complete ? 'complete' : 'cut'));
      response.on('error', () => finish('cut'));
      response.on('close', () => finish(response.complete ? 'complete' : 'cut'));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
