import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { TollgateConfigInput } from '../../src/config/config';
import { EnvNames } from '../../src/contract/env-names';
import { clerkSessionClaims, githubActionsClaims } from '../../src/local/dev-claims';
import { ensureTables } from '../../src/local/tables';
import { svixSignature } from '../../src/domain/svix-signature';
import { EMPTY_KEY_SET } from '../../cdk/signing-keys';
import { apiGatewayEvent } from '../support/api-gateway-event';
import { startBundledFunction, type BundledFunction } from '../support/bundled-function';
import { startFakeLambda, type FakeLambda } from '../support/fake-lambda';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';
import { startRecordingDynamoProxy, type RecordingDynamoProxy } from '../support/recording-dynamodb-proxy';
import { startTestStore, type TestStore } from '../support/store';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { startTestUpstream, type TestUpstream } from '../services/proxy-harness';
import { DeployedTemplate, FAKE_AWS, type TemplateFunction } from './deployed-template';
import { synthTollgate } from './synth-tollgate';

/**
 * The deployable artifacts themselves: the stack is synthesized (once) with
 * the prebuilt assets the package ships, and each function's bundle is loaded from the cloud assembly in a
 * fresh Node 22 process with exactly the environment the template gives it,
 * its AWS endpoints pointed at loopback stand-ins: a real DynamoDB-protocol
 * store (dynalite, behind a recording proxy), and loopback fakes of the
 * Secrets Manager and Lambda Invoke APIs (the real services are out of reach
 * here; test/support/fake-*.ts). Events are API Gateway REST (payload v1)
 * events. Every AWS call each function makes is checked against its role's
 * statements in the template.
 */
describe('Lambda artifacts from the cloud assembly', () => {
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const STAGE_URL = `https://tollgatetest.execute-api.${FAKE_AWS.region}.${FAKE_AWS.urlSuffix}/prod`;
  const UPSTREAM_TOKEN = `upstream-${randomBytes(12).toString('hex')}`;
  const WEBHOOK_KEY = randomBytes(24);
  const now = () => Math.floor(Date.now() / 1000);

  let outdir: string;
  let issuers: TestIssuerServer;
  let upstream: TestUpstream;
  let store: TestStore;
  let dynamo: RecordingDynamoProxy;
  let secrets: FakeSecretsManager;
  let lambda: FakeLambda;
  let deployed: DeployedTemplate;
  let signingSecretArn: string;
  const running = new Map<string, BundledFunction>();
  const retired: BundledFunction[] = [];
  const issuedSecrets: string[] = [UPSTREAM_TOKEN, WEBHOOK_KEY.toString('base64')];
  let byJob: Record<'token' | 'refresh' | 'verify' | 'revoke' | 'metadata' | 'proxy' | 'clerkWebhook' | 'rotation', TemplateFunction>;

  const accessKeyFor = (fn: TemplateFunction) => `ARTIFACT${fn.logicalId.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`;

  async function start(fn: TemplateFunction): Promise<BundledFunction> {
    const started = await startBundledFunction({
      name: fn.logicalId,
      taskRoot: join(outdir, `asset.${fn.assetHash}`),
      handler: fn.handler,
      env: {
        ...fn.environment,
        // What the Lambda runtime sets.
        AWS_REGION: FAKE_AWS.region,
        AWS_DEFAULT_REGION: FAKE_AWS.region,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
        AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
        AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
        LAMBDA_TASK_ROOT: join(outdir, `asset.${fn.assetHash}`),
        TZ: ':UTC',
        PATH: '/usr/bin:/bin',
        // The role's credentials, one access key id per function so every call can be attributed.
        AWS_ACCESS_KEY_ID: accessKeyFor(fn),
        AWS_SECRET_ACCESS_KEY: 'artifact-test',
        // The loopback stand-ins for DynamoDB, Secrets Manager and Lambda.
        [EnvNames.dynamodbEndpoint]: dynamo.endpoint,
        [EnvNames.secretsManagerEndpoint]: secrets.endpoint,
        [EnvNames.lambdaEndpoint]: lambda.endpoint,
      },
    });
    running.set(fn.logicalId, started);
    return started;
  }

  async function restart(fn: TemplateFunction): Promise<BundledFunction> {
    retired.push(running.get(fn.logicalId)!);
    return start(fn);
  }

  async function call(fn: TemplateFunction, event: unknown): Promise<APIGatewayProxyResult & { json?: any }> {
    const result = (await running.get(fn.logicalId)!.invoke(event)) as APIGatewayProxyResult;
    const text = result.body && result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { ...result, body: text, json };
  }

  const post = (fn: TemplateFunction, resource: string, form: Record<string, string>) =>
    call(fn, apiGatewayEvent({ method: 'POST', resource, path: resource, headers: FORM, body: new URLSearchParams(form).toString() }));
  const getMetadata = (path: string) => call(byJob.metadata, apiGatewayEvent({ method: 'GET', resource: path, path }));

  async function exchangeGithub(): Promise<{ access_token: string; refresh_token: string }> {
    const github = issuers.issuers.github!;
    const subject = await github.sign(githubActionsClaims(github.issuer, now(), { repositoryId: '74', ownerId: '65' }));
    const answer = await post(byJob.token, '/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subject,
    });
    expect({ status: answer.statusCode, body: answer.json }).toMatchObject({ status: 200, body: { token_type: 'Bearer' } });
    issuedSecrets.push(answer.json.access_token, answer.json.refresh_token, subject);
    return answer.json;
  }

  beforeAll(async () => {
    // Prepare the loopback world first: the config the stack bakes in names these servers.
    [issuers, upstream, store, secrets, lambda] = await Promise.all([
      startTestIssuers(['github', 'clerk']),
      startTestUpstream(),
      startTestStore(),
      startFakeSecretsManager(),
      startFakeLambda(),
    ]);
    dynamo = await startRecordingDynamoProxy(store.endpoint);
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: FAKE_AWS.region, credentials: { accessKeyId: 'admin', secretAccessKey: 'admin' } });
    await ensureTables(admin, store.tables);
    admin.destroy();

    const config: TollgateConfigInput = {
      trust: [
        {
          name: 'github',
          issuer: issuers.issuers.github!.issuer,
          kind: 'ci',
          audiences: ['tollgate'],
          rules: [{ claims: { repository_id: '74' }, scopes: ['deploy', 'orders:read'] }],
        },
        {
          name: 'clerk',
          issuer: issuers.issuers.clerk!.issuer,
          kind: 'user',
          authorizedParties: ['https://app.example.com'],
          rules: [{ claims: { 'metadata.role': 'api-client' }, scopes: ['orders:read'] }],
        },
      ],
      proxy: {
        upstreamUrl: upstream.url,
        routes: [{ name: 'orders', methods: ['GET'], path: '/orders/**', scopes: ['orders:read'] }],
        upstreamAuth: { type: 'bearer', token: 'aws-secretsmanager:tollgate/upstream-token' },
      },
      webhooks: { clerk: { signingSecret: 'aws-secretsmanager:tollgate/clerk-webhook#signingSecret' } },
      aws: { logRetentionDays: 30 },
    };

    // Act once for the whole suite: synthesize into a fresh cloud assembly (the assets are copied into it, as `cdk deploy` uploads them).
    outdir = mkdtempSync(join(tmpdir(), 'tollgate-assembly-'));
    const synth = synthTollgate({ config, outdir });
    const template = synth.assembly.getStackByName('Tollgate').template;
    const tableIds = {
      sessions: synth.stack.getLogicalId(synth.stack.tables.sessions.node.defaultChild as never),
      guards: synth.stack.getLogicalId(synth.stack.tables.guards.node.defaultChild as never),
    };
    const secretId = synth.stack.getLogicalId(synth.stack.signingKeys.secret.node.defaultChild as never);
    signingSecretArn = secrets.createSecret('TollgateSigningKeys', EMPTY_KEY_SET, { rotationEnabled: true });
    secrets.createSecret('tollgate/upstream-token', UPSTREAM_TOKEN);
    secrets.createSecret('tollgate/clerk-webhook', JSON.stringify({ signingSecret: `whsec_${WEBHOOK_KEY.toString('base64')}` }));
    deployed = new DeployedTemplate(template, { [tableIds.sessions]: store.tables.sessions, [tableIds.guards]: store.tables.guards, [secretId]: signingSecretArn });

    const functions = deployed.functions();
    const find = (construct: { node: { defaultChild?: unknown } }) => functions.find((fn) => fn.logicalId === synth.stack.getLogicalId(construct.node.defaultChild as never))!;
    const api = synth.stack.functions.functions;
    byJob = {
      token: find(api.token!.fn),
      refresh: find(api.refresh!.fn),
      verify: find(api.verify!.fn),
      revoke: find(api.revoke!.fn),
      metadata: find(api.metadata!.fn),
      proxy: find(api.proxy!.fn),
      clerkWebhook: find(api.clerkWebhook!.fn),
      rotation: find(synth.stack.signingKeys.rotation.fn),
    };
    expect(functions).toHaveLength(8);

    // Cold-start every function, as Lambda would on the first request.
    for (const fn of functions) await start(fn);
    lambda.register(byJob.refresh.name, (event) => running.get(byJob.refresh.logicalId)!.invoke(event));

    // The first rotation, which Secrets Manager runs as soon as the schedule exists, fills the empty secret.
    await secrets.rotate(signingSecretArn, (event) => running.get(byJob.rotation.logicalId)!.invoke(event).then(() => undefined));
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...running.values(), ...retired].map((fn) => fn.close()));
    await Promise.all([issuers?.close(), upstream?.close(), dynamo?.close(), secrets?.close(), lambda?.close()]);
    await store?.close();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('loads every bundle as an ESM module in a fresh Node 22 process, with no runtime require and no key material in the assembly', () => {
    for (const fn of running.values()) expect(fn.node).toMatch(/^v22\./);
    for (const fn of deployed.functions()) {
      const files = readdirSync(join(outdir, `asset.${fn.assetHash}`));
      expect(files).toEqual(['index.mjs']);
      // esbuild's shim for a CommonJS require inside an ESM bundle throws at run time.
      expect(readFileSync(join(outdir, `asset.${fn.assetHash}`, 'index.mjs'), 'utf8')).not.toContain('Dynamic require of');
    }
    for (const file of walk(outdir)) {
      const text = readFileSync(file, 'utf8');
      expect({ file, privateJwk: /"(d|p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{20,}"/.test(text), pem: text.includes('PRIVATE KEY-----') }).toEqual({ file, privateJwk: false, pem: false });
    }
  });

  it('publishes the keys the first rotation created, public parts only, and metadata naming the stage URL', async () => {
    const jwks = await getMetadata('/.well-known/jwks.json');
    const metadata = await getMetadata('/.well-known/oauth-authorization-server');

    const document = JSON.parse(secrets.value(signingSecretArn)!) as { current: string; next: string };
    expect(jwks.statusCode).toBe(200);
    expect(jwks.json.keys.map((key: { kid: string }) => key.kid)).toEqual([document.current, document.next]);
    for (const key of jwks.json.keys) expect(key).not.toHaveProperty('d');
    expect(metadata.json).toMatchObject({ issuer: STAGE_URL, token_endpoint: `${STAGE_URL}/token`, jwks_uri: `${STAGE_URL}/.well-known/jwks.json` });
  });

  it('exchanges, verifies, refreshes through the refresh function, and revokes', async () => {
    const tokens = await exchangeGithub();
    expect(decodeJwt(tokens.access_token)).toMatchObject({ iss: STAGE_URL, aud: 'tollgate', scope: 'deploy orders:read' });

    const introspected = await post(byJob.verify, '/verify', { token: tokens.access_token });
    expect(introspected.json).toMatchObject({ active: true, kind: 'ci' });

    const invocationsBefore = lambda.invocations.length;
    const refreshed = await post(byJob.token, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(refreshed.statusCode).toBe(200);
    expect(lambda.invocations.slice(invocationsBefore)).toEqual([byJob.refresh.name]);
    issuedSecrets.push(refreshed.json.access_token, refreshed.json.refresh_token);

    const revoked = await post(byJob.revoke, '/revoke', { token: refreshed.json.refresh_token });
    expect(revoked.statusCode).toBe(200);
    const afterRevoke = await post(byJob.token, '/token', { grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token });
    expect({ status: afterRevoke.statusCode, error: afterRevoke.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    // The running verify function may answer from its session cache (proxy.sessionCacheSeconds); a new execution environment reads the store.
    await restart(byJob.verify);
    expect((await post(byJob.verify, '/verify', { token: refreshed.json.access_token })).json).toEqual({ active: false });
  });

  it('proxies a bearer-validated request with the upstream credential from Secrets Manager, and refuses one without a token', async () => {
    const tokens = await exchangeGithub();
    const proxied = (authorization?: string) =>
      call(
        byJob.proxy,
        apiGatewayEvent({
          method: 'GET',
          resource: '/proxy/{proxy+}',
          path: '/proxy/orders/42',
          pathParameters: { proxy: 'orders/42' },
          headers: authorization ? { Authorization: authorization } : {},
        }),
      );

    const answer = await proxied(`Bearer ${tokens.access_token}`);
    const refused = await proxied();

    expect(answer.statusCode).toBe(200);
    const received = upstream.received.at(-1)!;
    expect(received.url).toBe('/orders/42');
    expect(upstream.header(received, 'authorization')).toEqual([`Bearer ${UPSTREAM_TOKEN}`]);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers?.['WWW-Authenticate'] ?? refused.headers?.['www-authenticate']).toMatch(/^Bearer/);
  });

  it('ends a session when Clerk (Svix-signed) says its session ended', async () => {
    const clerk = issuers.issuers.clerk!;
    const clerkSid = `sess_${randomBytes(8).toString('hex')}`;
    const subject = await clerk.sign(clerkSessionClaims(clerk.issuer, now(), { sid: clerkSid, role: 'api-client', azp: 'https://app.example.com' }));
    const exchanged = await post(byJob.token, '/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subject,
    });
    expect(exchanged.statusCode).toBe(200);
    issuedSecrets.push(exchanged.json.access_token, exchanged.json.refresh_token, subject);
    // A refresh of a webhook-governed session checks the webhook's markers first.
    const refreshed = await post(byJob.token, '/token', { grant_type: 'refresh_token', refresh_token: exchanged.json.refresh_token });
    expect(refreshed.statusCode).toBe(200);
    issuedSecrets.push(refreshed.json.access_token, refreshed.json.refresh_token);
    const body = JSON.stringify({ type: 'session.ended', object: 'event', data: { id: clerkSid, object: 'session' } });
    const id = `msg_${randomBytes(6).toString('hex')}`;
    const timestamp = String(now());
    const signature = `v1,${svixSignature(WEBHOOK_KEY, id, timestamp, Buffer.from(body)).toString('base64')}`;
    issuedSecrets.push(signature.slice(3));

    const delivered = await call(
      byJob.clerkWebhook,
      apiGatewayEvent({
        method: 'POST',
        resource: '/webhooks/clerk',
        path: '/webhooks/clerk',
        headers: { 'Content-Type': 'application/json', 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': signature },
        body,
      }),
    );

    expect(delivered.statusCode).toBe(200);
    const afterEnd = await post(byJob.token, '/token', { grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token });
    expect({ status: afterEnd.statusCode, error: afterEnd.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await post(byJob.verify, '/verify', { token: refreshed.json.access_token })).json).toEqual({ active: false });
  });

  it('rotates through the rotation function: the JWKS shows old and new keys, and tokens signed before keep verifying', async () => {
    // Prepare: a token signed with today's key, and the staged key aged past the promotion delay.
    const before = JSON.parse(secrets.value(signingSecretArn)!) as { current: string; next: string; publishedAt: Record<string, number> };
    const oldTokens = await exchangeGithub();
    expect(decodeProtectedHeader(oldTokens.access_token).kid).toBe(before.current);
    before.publishedAt[before.next] = now() - 3600;
    secrets.putCurrent(signingSecretArn, JSON.stringify(before));

    // Act: Secrets Manager's scheduled rotation, then fresh execution environments (their key caches start empty).
    await secrets.rotate(signingSecretArn, (event) => running.get(byJob.rotation.logicalId)!.invoke(event).then(() => undefined));
    for (const job of ['metadata', 'verify', 'token'] as const) await restart(byJob[job]);

    // Assess
    const after = JSON.parse(secrets.value(signingSecretArn)!) as { current: string; next: string };
    expect(after.current).toBe(before.next);
    const jwks = await getMetadata('/.well-known/jwks.json');
    expect(jwks.json.keys.map((key: { kid: string }) => key.kid)).toEqual([after.current, before.current, after.next]);
    expect((await post(byJob.verify, '/verify', { token: oldTokens.access_token })).json).toMatchObject({ active: true });
    const newTokens = await exchangeGithub();
    expect(decodeProtectedHeader(newTokens.access_token).kid).toBe(after.current);
    expect((await post(byJob.verify, '/verify', { token: newTokens.access_token })).json).toMatchObject({ active: true });
  });

  it("makes only AWS calls its role's statements in the template allow", () => {
    const byAccessKey = new Map(deployed.functions().map((fn) => [accessKeyFor(fn), fn]));
    const attempted: { fn: string; action: string; resource: string; allowed: boolean }[] = [];
    const check = (accessKeyId: string, action: string, resource: string) => {
      const fn = byAccessKey.get(accessKeyId);
      if (!fn) throw new Error(`a call with an unknown access key id: ${accessKeyId}`);
      attempted.push({ fn: fn.logicalId, action, resource, allowed: deployed.allows(fn.roleLogicalId, action, resource) });
    };
    const tableArn = (name: string) => `arn:aws:dynamodb:${FAKE_AWS.region}:${FAKE_AWS.account}:table/${name}`;
    for (const call of dynamo.calls) {
      check(call.accessKeyId, `dynamodb:${call.operation}`, `${tableArn(call.tableName!)}${call.indexName ? `/index/${call.indexName}` : ''}`);
    }
    for (const call of secrets.calls) check(call.accessKeyId, `secretsmanager:${call.operation}`, call.secretArn!);
    for (const call of lambda.calls) check(call.accessKeyId, 'lambda:InvokeFunction', `arn:aws:lambda:${FAKE_AWS.region}:${FAKE_AWS.account}:function:${call.functionName}`);

    expect(attempted.filter((entry) => !entry.allowed)).toEqual([]);
    // Every function reached AWS, so the check above covered each role.
    expect(new Set(attempted.map((entry) => entry.fn))).toEqual(new Set(deployed.functions().map((fn) => fn.logicalId)));
  });

  it('never writes a token, a refresh token or a secret to its logs', () => {
    const lines = [...running.values(), ...retired].flatMap((fn) => fn.output);
    expect(lines.length).toBeGreaterThan(20);
    for (const secret of issuedSecrets) {
      const leaks = lines.filter((line) => line.includes(secret));
      expect(leaks).toEqual([]);
    }
  });
});

function* walk(directory: string): Generator<string> {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
