import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { createProxyHandler } from '../../src/handlers/proxy-handler';
import { headerNameKey, STRIPPED_REQUEST_HEADERS } from '../../src/domain/header-rules';
import type { HttpEvent } from '../../src/http/api-event';
import { clerkSessionClaims, githubActionsClaims } from '../../src/local/dev-claims';
import { svixSignature } from '../../src/domain/svix-signature';
import { DpopTestKey } from '../support/dpop-key';
import { EXCHANGE, testObservability } from '../support/tollgate';
import { rawRequest, startTestUpstream, type RawAnswer, type ReceivedRequest, type TestUpstream } from '../services/proxy-harness';
import { APP_ORIGIN, REPO, startTokenSuite, type TokenSuite } from '../integration/token-fixtures';
import { SUITE_ROUTES } from '../security/attack-suite';
import { anyString, budget, prototypeName, utf16Unit } from './fc-budget';

/**
 * Properties of the whole local server (the Lambda handlers behind the API
 * Gateway emulation, a real store, real keys, a recording upstream) over
 * every path that takes untrusted input: `/token` forms, subject tokens with
 * claims of every type and size (each issued session then used at the
 * proxy and `/verify`), the proxy's headers, queries and paths (over HTTP and
 * as Lambda events with names no HTTP client can send), Clerk webhook
 * payloads, DPoP proofs. The property: a 2xx or the documented 4xx with its
 * RFC body, never a 5xx, never a crash, and never a header at the upstream
 * that Tollgate did not mean to forward. Budget and seed: `fc-budget.ts`.
 */

const API_KEY_ENV = 'TOLLGATE_PROPERTY_API_KEY';
const WEBHOOK_SECRET_ENV = 'TOLLGATE_PROPERTY_WEBHOOK_SECRET';
const apiKey = `property-key-${randomBytes(8).toString('hex')}`;
const webhookSecret = randomBytes(32);

/** RFC 6749 §5.2 / RFC 8693 / RFC 9449 error codes `/token` may answer with (429 and 503 aside). */
const TOKEN_ERRORS = ['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'invalid_dpop_proof', 'use_dpop_nonce', 'invalid_client'];

/** Headers the upstream may receive that the client did not send: Tollgate's own, and what Node's client adds. */
const TOLLGATE_SETS = new Set(['x-tollgate-subject', 'x-tollgate-session', 'x-tollgate-scopes', 'x-tollgate-kind', 'x-tollgate-repository', 'x-forwarded-for', 'x-forwarded-proto', 'x-api-key', 'host', 'connection', 'content-length']);
const PROTECTED_KEYS = new Set([...TOLLGATE_SETS, ...STRIPPED_REQUEST_HEADERS].map(headerNameKey));

function expectTokenAnswer(answer: { status: number; json: any; headers: Record<string, unknown> | Headers }): void {
  expect(answer.status).toBeLessThan(500);
  if (answer.status === 200) return;
  expect([400, 401, 405, 429]).toContain(answer.status);
  expect(TOKEN_ERRORS.concat('rate_limited')).toContain(answer.json?.error);
  expect(typeof answer.json?.error_description).toBe('string');
}

/**
 * Every header the upstream received is one Tollgate sets (with Tollgate's
 * value for the identity and credential headers) or one the client sent
 * under a forwardable name that no Tollgate header shares a CGI key with.
 */
function expectOnlyMeantHeaders(received: ReceivedRequest, sent: [string, string][], claims: { sub: string; sid: string }): void {
  for (const [name, value] of received.headers) {
    if (TOLLGATE_SETS.has(name)) {
      if (name === 'x-api-key') expect(value).toBe(apiKey);
      if (name === 'x-tollgate-session') expect(value).toBe(claims.sid);
      continue;
    }
    expect(name).toMatch(/^[a-z0-9-]+$/);
    expect(PROTECTED_KEYS.has(headerNameKey(name))).toBe(false);
    expect(name.startsWith('x-tollgate-') || name.startsWith('proxy-')).toBe(false);
    expect(sent.some(([n, v]) => n.toLowerCase() === name && v.trim() === value.trim())).toBe(true);
  }
}

describe('property: the local server over every untrusted input', () => {
  let suite: TokenSuite;
  let upstream: TestUpstream;
  let reader: { access_token: string; sub: string; sid: string };

  beforeAll(async () => {
    process.env[API_KEY_ENV] = apiKey;
    process.env[WEBHOOK_SECRET_ENV] = `whsec_${webhookSecret.toString('base64')}`;
    upstream = await startTestUpstream();
    suite = await startTokenSuite({
      config: {
        proxy: { upstreamUrl: upstream.url, routes: SUITE_ROUTES, upstreamAuth: { type: 'header', name: 'X-Api-Key', value: `env:${API_KEY_ENV}` } },
        rateLimit: { requestsPerMinute: 1_000_000, tokenRequestsPerMinutePerSubject: 1_000_000, tokenRequestsPerMinutePerIp: 1_000_000 },
        webhooks: { clerk: { signingSecret: `env:${WEBHOOK_SECRET_ENV}` } },
      },
    });
    const session = await suite.session('ci');
    const claims = decodeJwt(session.access_token);
    reader = { access_token: session.access_token, sub: String(claims.sub), sid: String(claims.sid) };
  });

  afterAll(async () => {
    await suite?.close();
    await upstream?.close();
    delete process.env[API_KEY_ENV];
    delete process.env[WEBHOOK_SECRET_ENV];
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string>): Promise<RawAnswer> => rawRequest(suite.tollgate.baseUrl, { method: 'POST', path, headers, body });

  it('POST /token, /verify and /revoke with any form or JSON body: 200 or the RFC error, never a 5xx', async () => {
    const parameter = fc.tuple(fc.oneof(fc.constantFrom('grant_type', 'subject_token', 'subject_token_type', 'refresh_token', 'scope', 'audience', 'resource', 'client_id', 'actor_token'), anyString(10), prototypeName), fc.oneof(anyString(40), fc.constantFrom(EXCHANGE.grant_type, EXCHANGE.subject_token_type, 'refresh_token', 'tgr_x.y')));
    const body = fc.oneof(
      fc.array(parameter, { maxLength: 12 }).map((pairs) => ({ type: 'application/x-www-form-urlencoded', text: pairs.map(([n, v]) => `${encodeURIComponent(n.replace(/[\uD800-\uDFFF]/g, ''))}=${encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, ''))}`).join('&') })),
      fc.array(parameter, { maxLength: 12 }).map((pairs) => ({ type: 'application/json', text: JSON.stringify(Object.fromEntries(pairs)) })),
      fc.record({ type: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'), text: fc.string({ unit: utf16Unit, maxLength: 200 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/token', '/verify', '/revoke'), body, async (endpoint, { type, text }) => {
        const answer = await post(endpoint, text, { 'content-type': type });
        expectTokenAnswer(answer);
        // RFC 7662 §2.2: anything invalid is `{"active": false}`; RFC 7009 §2.2: 200 with an empty body for any well-formed request.
        if (endpoint === '/verify' && answer.status === 200) expect(answer.json).toEqual({ active: false });
        if (endpoint === '/revoke' && answer.status === 200) expect(answer.body.length).toBe(0);
      }),
      budget(150),
    );
  });

  /** Claims that replace or add to a real GitHub token's: every JSON type, huge and malformed strings, prototype names. */
  const claimOverride = fc.dictionary(
    fc.oneof(fc.constantFrom('sub', 'jti', 'aud', 'exp', 'nbf', 'iat', 'repository', 'repository_id', 'repository_owner_id', 'ref', 'sid', 'act', 'azp', 'sts', 'environment', 'job_workflow_ref', 'o', 'metadata', 'org_id', 'org_role'), prototypeName, anyString(8)),
    fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      anyString(30),
      fc.string({ unit: utf16Unit, minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 5000 }).map((n) => 'x'.repeat(n)),
      fc.constantFrom(1e20, -1, 0, Number.MAX_SAFE_INTEGER, 'tollgate', ['tollgate'], REPO.repositoryId, REPO.ownerId),
    ),
    { maxKeys: 4 },
  );
  const headerOverride = fc.dictionary(fc.oneof(fc.constantFrom('typ', 'cty', 'crit', 'x5u', 'jku', 'b64', 'zip'), prototypeName, anyString(6)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 });

  it('a subject token signed by a trusted issuer with claims of any type and size: 200 or invalid_grant at /token; a session issued is then served at the proxy, /verify and the refresh grant', async () => {
    const outcomes = { issued: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('github', 'clerk'), claimOverride, headerOverride, async (kind, override, header) => {
        const issuer = kind === 'github' ? suite.github : suite.clerk;
        const base = kind === 'github' ? githubActionsClaims(issuer.issuer, suite.now(), REPO) : clerkSessionClaims(issuer.issuer, suite.now(), { azp: APP_ORIGIN, role: 'api-client' });
        const claims = { ...base, ...JSON.parse(JSON.stringify(override)) };
        const { kid } = issuer.currentKey();
        let token: string;
        try {
          token = await issuer.sign(claims, { ...JSON.parse(JSON.stringify(header)), alg: 'RS256', kid });
        } catch {
          return; // jose refuses to sign it (e.g. crit it does not know): no client can send it signed either
        }
        const answer = await suite.tollgate.exchange(token);
        expectTokenAnswer(answer);
        if (answer.status !== 200) {
          expect(answer.json.error === 'invalid_grant' || answer.json.error === 'invalid_request').toBe(true);
          outcomes.refused++;
          return;
        }
        outcomes.issued++;
        const access = answer.json.access_token as string;
        const issued = decodeJwt(access) as { sub: string; sid: string };
        const proxied = await rawRequest(suite.tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `Bearer ${access}` } });
        expect([200, 403]).toContain(proxied.status);
        if (proxied.status === 200) expectOnlyMeantHeaders(upstream.received.at(-1)!, [['authorization', `Bearer ${access}`]], issued);
        const verified = await suite.tollgate.verify(access);
        expect(verified.status).toBe(200);
        expect(verified.json.active).toBe(true);
        const refreshed = await suite.tollgate.refresh(answer.json.refresh_token);
        expect(refreshed.status).toBe(200);
      }),
      budget(80),
    );
    // Both branches ran: the property is not vacuous.
    expect(outcomes.issued).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  /** Header names an HTTP client can send (RFC 9110 tokens), look-alikes of Tollgate's, prototype names. */
  const tokenName = fc.oneof(
    fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/),
    prototypeName,
    fc.constantFrom(...TOLLGATE_SETS, ...STRIPPED_REQUEST_HEADERS, 'x-tollgate-other').chain((name) => fc.mixedCase(fc.constantFrom(name, name.replace(/-/g, '_'), name.replace(/-/g, '.')))),
  ).filter((name) => !['host', 'content-length', 'transfer-encoding', 'authorization', 'connection', 'expect', 'upgrade', 'te', 'trailer'].includes(name.toLowerCase()));
  const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
  const rawPath = fc.array(fc.oneof(fc.constantFrom('orders', '1', '..', '.', '%2e%2e', '%2F', '%00', '%c0%ae', '%', '%zz', '~', '%5c', 'a%20b', '@x', ';x=1', '%ED%A0%80'), fc.stringMatching(/^[!$&'()*+,;=:@0-9A-Za-z._~%-]{0,8}$/)), { minLength: 1, maxLength: 5 }).map((segments) => `/proxy/${segments.join('/')}`);
  const rawQuery = fc.array(fc.tuple(fc.oneof(fc.stringMatching(/^[0-9A-Za-z._~%+-]{0,8}$/), prototypeName), fc.stringMatching(/^[0-9A-Za-z._~%+=-]{0,8}$/)), { maxLength: 5 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('&'));

  it('the proxy over HTTP with any headers, path and query: never a 5xx, and only the headers Tollgate meant reach the upstream', async () => {
    let forwarded = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(tokenName, headerValue), { maxLength: 10 }), fc.oneof(fc.constant('/proxy/orders/1'), rawPath), rawQuery, async (headers, path, query) => {
        const before = upstream.received.length;
        const sent: [string, string][] = [['authorization', `Bearer ${reader.access_token}`], ...headers];
        const grouped: Record<string, string[]> = Object.create(null);
        for (const [name, value] of sent) (grouped[name] ??= []).push(value);
        const answer = await rawRequest(suite.tollgate.baseUrl, { path: query ? `${path}?${query}` : path, headers: grouped });
        expect(answer.status).toBeLessThan(500);
        if (answer.status === 200) {
          expect(upstream.received.length).toBe(before + 1);
          expectOnlyMeantHeaders(upstream.received.at(-1)!, sent, reader);
          forwarded++;
        } else {
          expect(upstream.received.length).toBe(before);
          // The proxy's own refusal (RFC 6750 body with a code), or API Gateway's for a path no resource matches (`/proxy/`).
          if (answer.json?.code === undefined) expect(answer).toMatchObject({ status: 404, json: { message: 'Not Found' } });
          else expect(typeof answer.json.code).toBe('string');
        }
      }),
      budget(150),
    );
    expect(forwarded).toBeGreaterThan(0);
  });

  it('the proxy handler with any names an API Gateway event can carry (any string, prototype names, any case): never a 5xx', async () => {
    const handler = createProxyHandler(suite.tollgate.services, testObservability());
    const context = { awsRequestId: 'property', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
    const names = fc.array(fc.tuple(fc.oneof(anyString(16).filter((n) => n !== ''), prototypeName), anyString(20)), { maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(names, names, async (headers, query) => {
        const multiValueHeaders: Record<string, string[]> = JSON.parse(JSON.stringify({ Authorization: [`Bearer ${reader.access_token}`] }));
        for (const [name, value] of headers) if (name.toLowerCase() !== 'authorization') Object.defineProperty(multiValueHeaders, name, { value: [...(Object.hasOwn(multiValueHeaders, name) ? multiValueHeaders[name]! : []), value], enumerable: true, configurable: true, writable: true });
        const multiValueQuery: Record<string, string[]> = Object.create(null);
        for (const [name, value] of query) (multiValueQuery[name] ??= []).push(value);
        const event = JSON.parse(
          JSON.stringify({
            resource: '/proxy/{proxy+}',
            path: '/proxy/orders/1',
            httpMethod: 'GET',
            headers: Object.fromEntries(Object.entries(multiValueHeaders).map(([n, v]) => [n, v.at(-1)])),
            multiValueHeaders,
            queryStringParameters: query.length ? Object.fromEntries(Object.entries(multiValueQuery).map(([n, v]) => [n, v.at(-1)])) : null,
            multiValueQueryStringParameters: query.length ? multiValueQuery : null,
            pathParameters: { proxy: 'orders/1' },
            stageVariables: null,
            body: null,
            isBase64Encoded: false,
            requestContext: { domainName: 'api.example.com', path: '/prod/proxy/orders/1', identity: { sourceIp: '203.0.113.9' }, requestId: 'property' },
          }),
        ) as HttpEvent;
        const result = await handler(event, context);
        expect(result.statusCode).toBeLessThan(500);
      }),
      budget(150),
    );
  });

  it('POST /webhooks/clerk with any payload, signed or not: 2xx or 400/401, never a 5xx', async () => {
    const payload = fc.oneof(
      fc.record({ type: fc.oneof(fc.constantFrom('session.ended', 'session.removed', 'session.revoked', 'user.deleted', 'user.updated'), anyString(20)), data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ id: fc.oneof(anyString(40), fc.jsonValue(), fc.integer({ min: 1, max: 3000 }).map((n) => `sess_${'x'.repeat(n)}`)) })) }).map((event) => JSON.stringify(event)),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc.string({ unit: utf16Unit, maxLength: 100 }),
    );
    await fc.assert(
      fc.asyncProperty(payload, fc.boolean(), fc.oneof(fc.constant(undefined), anyString(20)), async (text, signed, id) => {
        const body = Buffer.from(text);
        const svixId = id && /^[\x21-\x7e]+$/.test(id) ? id : `msg_${randomBytes(6).toString('hex')}`;
        const timestamp = String(suite.now());
        const signature = signed ? `v1,${svixSignature(webhookSecret, svixId, timestamp, body).toString('base64')}` : `v1,${randomBytes(32).toString('base64')}`;
        const answer = await post('/webhooks/clerk', body, { 'content-type': 'application/json', 'svix-id': svixId, 'svix-timestamp': timestamp, 'svix-signature': signature });
        expect(answer.status).toBeLessThan(500);
        if (answer.status >= 400) expect([400, 401]).toContain(answer.status);
      }),
      budget(100),
    );
  });

  it('POST /token with any DPoP proof (real key, any header members and claims): 200, invalid_dpop_proof or use_dpop_nonce, never a 5xx', async () => {
    const key = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    const proofClaims = fc.dictionary(fc.oneof(fc.constantFrom('jti', 'htm', 'htu', 'iat', 'ath', 'nonce', 'exp', 'nbf'), prototypeName, anyString(6)), fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyString(30), fc.constantFrom('POST', `${'http://127.0.0.1'}/token`)), { maxKeys: 4 });
    const proofHeader = fc.dictionary(fc.oneof(fc.constantFrom('typ', 'jwk', 'kid', 'crit', 'x5c'), prototypeName), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant('dpop+jwt')), { maxKeys: 2 });
    await fc.assert(
      fc.asyncProperty(proofClaims, proofHeader, async (extra, header) => {
        let proof: string;
        try {
          proof = await key.proof({ htm: 'POST', htu: `${suite.tollgate.baseUrl}/token`, extra: JSON.parse(JSON.stringify(extra)) }, JSON.parse(JSON.stringify(header)));
        } catch {
          return; // jose refuses to sign it
        }
        const body = new URLSearchParams({ ...EXCHANGE, subject_token: await suite.githubToken() }).toString();
        const answer = await post('/token', body, { 'content-type': 'application/x-www-form-urlencoded', dpop: proof });
        expectTokenAnswer(answer);
        if (answer.status !== 200) expect(['invalid_dpop_proof', 'use_dpop_nonce']).toContain(answer.json.error);
      }),
      budget(100),
    );
  });

  it('the proxy with a DPoP-bound token and any proof (real keys, any header members and claims): 200 or the proxy’s 401, never a 5xx', async () => {
    const key = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    const other = await DpopTestKey.generate({ nowSeconds: () => suite.now() });
    const url = `${suite.tollgate.baseUrl}/proxy/orders/1`;
    const bound = await post('/token', new URLSearchParams({ ...EXCHANGE, subject_token: await suite.githubToken() }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await key.proof({ htm: 'POST', htu: `${suite.tollgate.baseUrl}/token` }),
    });
    expect(bound.status).toBe(200);
    const access = bound.json.access_token as string;
    const claimsOverride = fc.dictionary(fc.oneof(fc.constantFrom('jti', 'htm', 'htu', 'iat', 'ath', 'nonce'), prototypeName, anyString(6)), fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyString(30), fc.constantFrom('GET', 'get', url, `${url}?x=1`, url.toUpperCase())), { maxKeys: 3 });
    const headerOverride = fc.dictionary(fc.oneof(fc.constantFrom('typ', 'jwk', 'kid', 'alg'), prototypeName), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('dpop+jwt', 'ES256', 'none')), { maxKeys: 2 });
    let forwarded = 0;
    await fc.assert(
      fc.asyncProperty(claimsOverride, headerOverride, fc.boolean(), fc.constantFrom('DPoP', 'dpop', 'Bearer'), async (extra, header, byOther, scheme) => {
        let proof: string;
        try {
          proof = await (byOther ? other : key).proof({ htm: 'GET', htu: url, accessToken: access, extra: JSON.parse(JSON.stringify(extra)) }, JSON.parse(JSON.stringify(header)));
        } catch {
          return; // jose refuses to sign it
        }
        const answer = await rawRequest(suite.tollgate.baseUrl, { path: '/proxy/orders/1', headers: { authorization: `${scheme} ${access}`, dpop: proof } });
        expect(answer.status).toBeLessThan(500);
        if (answer.status === 200) forwarded++;
        else {
          expect(answer.status).toBe(401);
          expect(['DPOP_PROOF_INVALID', 'TOKEN_INVALID', 'DPOP_NONCE_REQUIRED']).toContain(answer.json.code);
          expect(String(answer.headers['www-authenticate'])).toMatch(/^DPoP /);
        }
      }),
      budget(100),
    );
    expect(forwarded).toBeGreaterThan(0);
  });

  it('still answers after all of that', async () => {
    const answer = await rawRequest(suite.tollgate.baseUrl, { path: '/.well-known/oauth-authorization-server' });

    expect(answer.status).toBe(200);
  });
});
