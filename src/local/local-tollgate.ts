import { randomBytes } from 'node:crypto';
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDocumentClient } from '../adapters/dynamo-client';
import type { SigningAlg, TollgateConfig, TollgateConfigInput } from '../config/config';
import { EnvNames } from '../contract/env-names';
import type { Clock } from '../domain/clock';
import { generateSigningJwk, generateSigningKeyDocument, parseSigningKeyDocument } from '../adapters/jwk-set';
import { compose } from '../app/compose';
import { composeClerkWebhook } from '../app/compose-clerk-webhook';
import { configFromEnvironment } from '../app/config-file';
import { createObservability, type Runtime } from '../app/runtime';
import { API_ROUTES, type FunctionName } from '../contract/routes';
import type { Services } from '../app/services';
import { createMetadataHandler } from '../handlers/metadata-handler';
import { createRevokeHandler } from '../handlers/revoke-handler';
import { createTokenHandler } from '../handlers/token-handler';
import { createVerifyHandler } from '../handlers/verify-handler';
import { createClerkWebhookHandler } from '../handlers/webhook-handler';
import { createProxyHandler, createStreamingProxyHandler } from '../handlers/proxy-handler';
import type { StreamingHttpFunction } from '../http/response-stream';
import type { Observability } from '../http/middleware';
import { apiGatewayListener, type LambdaHttpHandler, type LocalRoute } from './api-gateway-adapter';
import { createDevIssuer, type DevIssuer } from './dev-issuer';
import { defaultDevConfig, devProxyConfig, DEV_ECHO_API_KEY_ENV } from './default-config';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream';
import { startEmbeddedStore } from './embedded-store';
import { ensureTables } from './tables';

export interface LocalTollgateOptions {
  /** 0 picks a free port. @default 8787 */
  port?: number;
  host?: string;
  /** The config document; undefined uses `TOLLGATE_CONFIG` if set, else the dev default. */
  config?: TollgateConfigInput;
  configFile?: string;
  /** Where keys (and, with `persist`, the store) live. @default ".tollgate" */
  dataDir?: string;
  /** Keep the embedded store on disk under `dataDir/store`. @default false */
  persist?: boolean;
  /** Use this DynamoDB endpoint instead of the embedded store. */
  dynamodbEndpoint?: string;
  /** Table names (tests give each suite its own). */
  tables?: { sessions: string; guards: string };
  clock?: Clock;
  observability?: Observability;
  /**
   * Environment set over everything else the services read (tests: a Secrets
   * Manager endpoint and a signing-key secret id instead of the local file).
   */
  env?: Record<string, string | undefined>;
}

export interface LocalTollgate {
  baseUrl: string;
  storeEndpoint: string;
  tables: { sessions: string; guards: string };
  devIssuer: DevIssuer;
  services: Services;
  server: Server;
  /** The built-in echo upstream (started when the config has no `proxy`). */
  echoUpstream?: EchoUpstream;
  close(): Promise<void>;
}

/**
 * The dev signing keys in `.tollgate/signing-keys.json`, of the config's
 * `signing.alg`. A kept file whose current key has another algorithm (the
 * config changed) gets a fresh key of the configured one as `current`, with
 * the old keys still published, as a rotation in AWS would leave them.
 */
async function ensureSigningKeys(file: string, alg: SigningAlg): Promise<void> {
  if (existsSync(file)) {
    const document = parseSigningKeyDocument(readFileSync(file, 'utf8'));
    if (document.keys.find((key) => key.kid === document.current)?.alg === alg) return;
    const fresh = await generateSigningJwk(alg);
    writeFileSync(file, JSON.stringify({ current: fresh.kid, keys: [fresh, ...document.keys] }, null, 2), { mode: 0o600 });
    return;
  }
  writeFileSync(file, JSON.stringify(await generateSigningKeyDocument(alg), null, 2), { mode: 0o600 });
}

/**
 * Tollgate on one loopback port, without AWS: the embedded DynamoDB-protocol
 * store (or any endpoint), local signing keys, the dev identity issuer, and
 * every route served by the very handlers the Lambda functions export, fed
 * API Gateway-shaped events.
 */
export async function startLocalTollgate(options: LocalTollgateOptions = {}): Promise<LocalTollgate> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = options.dataDir ?? '.tollgate';
  mkdirSync(dataDir, { recursive: true });

  const store = options.dynamodbEndpoint
    ? { endpoint: options.dynamodbEndpoint, close: async () => undefined }
    : await startEmbeddedStore({ path: options.persist ? join(dataDir, 'store') : undefined });
  const tables = options.tables ?? { sessions: 'tollgate-sessions', guards: 'tollgate-guards' };
  const keysFile = join(dataDir, 'signing-keys.json');

  // Every request is answered (issue 13.9): the listener is there from the start and, in the moment before the
  // routes are built, answers 503 like an API Gateway whose function is not ready. A fixed port is only listened
  // on once everything is built (last, below); port 0 must be bound first to learn its number, and nobody else
  // knows that number before this function returns.
  let serve: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
  const server = createServer((request, response) => {
    if (serve) return serve(request, response);
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"message":"starting"}');
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const requestedPort = options.port ?? 8787;
  if (requestedPort === 0) await listen(0);
  const port = requestedPort === 0 ? (server.address() as AddressInfo).port : requestedPort;
  const baseUrl = `http://${host}:${port}`;
  const devIssuer = await createDevIssuer(baseUrl, join(dataDir, 'dev-issuer-key.json'));

  const env: Record<string, string | undefined> = {
    ...process.env,
    [EnvNames.publicBaseUrl]: baseUrl,
    [EnvNames.sessionsTable]: tables.sessions,
    [EnvNames.guardsTable]: tables.guards,
    [EnvNames.dynamodbEndpoint]: store.endpoint,
    [EnvNames.signingKeysFile]: keysFile,
    [EnvNames.signingKeysSecretId]: undefined,
    AWS_REGION: process.env.AWS_REGION ?? 'local',
    ...options.env,
  };
  if (options.config) env[EnvNames.configJson] = JSON.stringify(options.config);
  else if (options.configFile) env[EnvNames.configFile] = options.configFile;
  else if (!env[EnvNames.configFile] && !env[EnvNames.configJson]) env[EnvNames.configJson] = JSON.stringify(defaultDevConfig(devIssuer));
  // One client configuration for the tables and the services (issue 13.10): the shell's region and credentials
  // (DynamoDB Local keeps a database per access key and region), placeholders only when none are set.
  const client = createDocumentClient({ endpoint: store.endpoint, region: env.AWS_REGION, env });
  let echoUpstream: EchoUpstream | undefined;
  const observability = options.observability ?? createObservability();
  const runtime: Runtime = { env, observability, clock: options.clock, documentClient: client };
  let config: TollgateConfig;
  let services: Services;
  try {
    await ensureTables(client, tables);
    echoUpstream = await addEchoProxy(env);
    // Local mode validates the config itself, with the full schema (every problem by path).
    config = configFromEnvironment(env);
    await ensureSigningKeys(keysFile, config.signing.alg);
    services = compose(config, runtime);
  } catch (error) {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    client.destroy();
    await store.close();
    await echoUpstream?.close();
    throw error;
  }

  const handlers: Record<FunctionName, LambdaHttpHandler | undefined> = {
    token: createTokenHandler(services, observability, { grants: 'both' }),
    refresh: undefined,
    verify: createVerifyHandler(services, observability),
    revoke: createRevokeHandler(services, observability),
    metadata: createMetadataHandler(services, observability),
    // The webhook ends sessions in this process's store: drop them from the proxy's session cache at once.
    clerkWebhook: createClerkWebhookHandler(composeClerkWebhook(config, runtime, { onSessionEnded: (sid) => services.gate.forget(sid) }), observability),
    proxy: createProxyHandler(services, observability),
  };
  // Streamed like the deployed proxy (API Gateway `responseTransferMode: STREAM`, Lambda response streaming).
  const streaming: Partial<Record<FunctionName, StreamingHttpFunction>> = { proxy: createStreamingProxyHandler(services, observability) };
  const routes: LocalRoute[] = API_ROUTES.flatMap((route) => {
    const handler = handlers[route.fn];
    return handler ? [{ method: route.method, resource: route.resource, handler, streaming: streaming[route.fn], name: `tollgate-local-${route.fn}` }] : [];
  });
  // `requestContext.domainName` and the scheme come from the public URL, never the client's Host (DPoP htu, issue 13.7).
  const gateway = apiGatewayListener(routes, { publicUrl: env[EnvNames.publicBaseUrl] ?? baseUrl });
  serve = (request, response) => {
    if (!devIssuer.handle(request, response)) gateway(request, response);
  };
  if (!server.listening) {
    try {
      await listen(port);
    } catch (error) {
      client.destroy();
      await store.close();
      await echoUpstream?.close();
      throw error;
    }
  }

  return {
    baseUrl,
    storeEndpoint: store.endpoint,
    tables,
    devIssuer,
    services,
    server,
    echoUpstream,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
      await store.close();
      await echoUpstream?.close();
    },
  };
}

/**
 * Without `proxy` in the config, local mode proxies to the built-in echo
 * upstream on a loopback port (`devProxyConfig`), with a random API key
 * unless `TOLLGATE_ECHO_API_KEY` is set. A config that cannot be read or
 * parsed is left alone, for `loadConfig` to report.
 */
async function addEchoProxy(env: Record<string, string | undefined>): Promise<EchoUpstream | undefined> {
  let document: unknown;
  try {
    const text = env[EnvNames.configJson] ?? readFileSync(env[EnvNames.configFile] ?? '', 'utf8');
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!document || typeof document !== 'object' || Array.isArray(document) || 'proxy' in document) return undefined;
  const echo = await startEchoUpstream();
  env[EnvNames.configJson] = JSON.stringify({ ...document, proxy: devProxyConfig(echo.url) });
  env[DEV_ECHO_API_KEY_ENV] ??= `echo-${randomBytes(16).toString('hex')}`;
  return echo;
}
