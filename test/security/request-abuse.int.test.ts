import { connect } from 'node:net';
import { TestClock } from '../support/clock';
import { request } from '../support/http';
import { EXCHANGE } from '../support/tollgate';
import { oauthError } from '../integration/token-fixtures';
import { expectNothingLogged, startAttackSuite, type AttackSuite } from './attack-suite';

/**
 * Abusive requests at the OAuth endpoints (`/token`, `/verify`, `/revoke`),
 * one table: malformed parameters, repeats, content types, sizes, nesting,
 * encodings, control characters. Each case states the status and exact body,
 * and nothing may be issued or written. Requests that break HTTP itself (CR
 * or LF inside a header, conflicting lengths) never reach a handler: the
 * server in front refuses them (Node here, API Gateway in AWS). docs/security.md
 * reproduces this table.
 */

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const FORM = 'application/x-www-form-urlencoded';
const CONTENT_TYPE = oauthError('invalid_request', 'content type must be application/x-www-form-urlencoded or application/json');
const TOO_LARGE = oauthError('invalid_request', 'request body is too large');
const NOT_UTF8 = oauthError('invalid_request', 'request body is not valid UTF-8');

type Endpoint = '/token' | '/verify' | '/revoke';
/** A request body as bytes (or text) and its content type; `undefined` sends none. */
interface Body {
  type?: string;
  body: string | Buffer;
}
type Make = (s: AttackSuite) => Promise<Body> | Body;

const form = (parameters: Record<string, string> | [string, string][]): Body => ({ type: FORM, body: new URLSearchParams(parameters as Record<string, string>).toString() });
const json = (text: string): Body => ({ type: 'application/json', body: text });
const nested = (depth: number) => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;

const CASES: [string, Endpoint, Make, number, Record<string, unknown>][] = [
  // Parameters (RFC 6749 §4, §5.2; RFC 8693 §2.1).
  ['an unsupported grant_type', '/token', () => form({ grant_type: 'password', username: 'a', password: 'b' }), 400, oauthError('unsupported_grant_type', 'grant_type is not supported')],
  ['the client_credentials grant', '/token', () => form({ grant_type: 'client_credentials' }), 400, oauthError('unsupported_grant_type', 'grant_type is not supported')],
  ['no grant_type', '/token', () => form({ subject_token: 'x' }), 400, oauthError('invalid_request', 'missing grant_type')],
  ['no subject_token', '/token', () => form({ ...EXCHANGE }), 400, oauthError('invalid_request', 'missing subject_token')],
  ['an empty subject_token', '/token', () => form({ ...EXCHANGE, subject_token: '' }), 400, oauthError('invalid_request', 'missing subject_token')],
  ['no subject_token_type', '/token', () => form({ grant_type: EXCHANGE.grant_type, subject_token: 'x' }), 400, oauthError('invalid_request', 'missing subject_token_type')],
  ['an unsupported subject_token_type', '/token', () => form({ ...EXCHANGE, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }), 400, oauthError('invalid_request', 'unsupported subject_token_type')],
  ['an access token as subject_token_type', '/token', () => form({ ...EXCHANGE, subject_token: 'x', subject_token_type: ACCESS_TOKEN_TYPE }), 400, oauthError('invalid_request', 'unsupported subject_token_type')],
  ['an actor_token', '/token', () => form({ ...EXCHANGE, subject_token: 'x', actor_token: 'y', actor_token_type: EXCHANGE.subject_token_type }), 400, oauthError('invalid_request', 'actor_token is not supported')],
  ['a requested_token_type other than access token', '/token', () => form({ ...EXCHANGE, subject_token: 'x', requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 400, oauthError('invalid_request', 'only access tokens can be requested')],
  ['a resource indicator', '/token', () => form({ ...EXCHANGE, subject_token: 'x', resource: 'https://api.example.com' }), 400, oauthError('invalid_target', 'resource indicators are not supported')],
  ['no refresh_token', '/token', () => form({ grant_type: 'refresh_token' }), 400, oauthError('invalid_request', 'missing refresh_token')],
  ['no token', '/verify', () => form({ token_type_hint: 'access_token' }), 400, oauthError('invalid_request', 'missing token')],
  ['no token', '/revoke', () => form({ token_type_hint: 'refresh_token' }), 400, oauthError('invalid_request', 'missing token')],
  // Repeated parameters (RFC 6749 §3.2: parameters MUST NOT be included more than once).
  ['subject_token twice', '/token', async (s) => {
    const subject = s.secret(await s.githubToken());
    return form([['grant_type', EXCHANGE.grant_type], ['subject_token_type', EXCHANGE.subject_token_type], ['subject_token', subject], ['subject_token', subject]]);
  }, 400, oauthError('invalid_request', 'parameter subject_token is repeated')],
  ['grant_type twice, with two values', '/token', () => form([['grant_type', 'refresh_token'], ['grant_type', EXCHANGE.grant_type], ['refresh_token', 'x']]), 400, oauthError('invalid_request', 'parameter grant_type is repeated')],
  ['a repeated JSON member', '/token', () => json('{"grant_type":"refresh_token","refresh_token":"a","refresh_token":"b"}'), 400, oauthError('invalid_request', 'parameter refresh_token is repeated')],
  ['token twice', '/verify', () => form([['token', 'a'], ['token', 'b']]), 400, oauthError('invalid_request', 'parameter token is repeated')],
  ['token twice', '/revoke', () => form([['token', 'a'], ['token', 'b']]), 400, oauthError('invalid_request', 'parameter token is repeated')],
  ['33 parameters', '/token', () => form(Array.from({ length: 33 }, (_, i): [string, string] => [`p${i}`, 'x'])), 400, oauthError('invalid_request', 'too many parameters')],
  // Content types.
  ['text/plain', '/token', () => ({ type: 'text/plain', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }).toString() }), 400, CONTENT_TYPE],
  ['multipart/form-data', '/token', () => ({ type: 'multipart/form-data; boundary=x', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }).toString() }), 400, CONTENT_TYPE],
  ['no content type', '/token', () => ({ body: Buffer.from(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }).toString()) }), 400, CONTENT_TYPE],
  ['application/xml', '/verify', () => ({ type: 'application/xml', body: '<token>x</token>' }), 400, CONTENT_TYPE],
  ['a JSON look-alike type (application/json-patch+json)', '/revoke', () => ({ type: 'application/json-patch+json', body: '{"token":"x"}' }), 400, CONTENT_TYPE],
  // Sizes: bodies over 32 KiB, tokens over 16 KiB, thousands of scopes.
  ['a body over 32 KiB', '/token', () => ({ type: FORM, body: `grant_type=${encodeURIComponent(EXCHANGE.grant_type)}&subject_token=${'a'.repeat(33 * 1024)}` }), 400, TOO_LARGE],
  ['a body over 32 KiB', '/verify', () => ({ type: FORM, body: `token=${'a'.repeat(33 * 1024)}` }), 400, TOO_LARGE],
  ['a body over 32 KiB', '/revoke', () => ({ type: FORM, body: `token=${'a'.repeat(33 * 1024)}` }), 400, TOO_LARGE],
  ['a subject_token over 16 KiB', '/token', () => form({ ...EXCHANGE, subject_token: 'a'.repeat(16_385) }), 400, oauthError('invalid_request', 'subject_token is too long')],
  ['a refresh_token over 16 KiB', '/token', () => form({ grant_type: 'refresh_token', refresh_token: `tgr_${'a'.repeat(16_381)}` }), 400, oauthError('invalid_request', 'refresh_token is too long')],
  ['a token over 16 KiB (inactive, RFC 7662)', '/verify', () => form({ token: 'a'.repeat(16_385) }), 200, { active: false }],
  ['101 scopes', '/token', () => form({ ...EXCHANGE, subject_token: 'x', scope: Array.from({ length: 101 }, (_, i) => `s${i}`).join(' ') }), 400, oauthError('invalid_scope', 'scope is malformed')],
  ['3,000 scopes on a refresh', '/token', () => form({ grant_type: 'refresh_token', refresh_token: 'x', scope: 'a '.repeat(3_000) }), 400, oauthError('invalid_scope', 'scope is malformed')],
  // JSON shapes: nesting, huge documents, prototype keys.
  ['a nested object as a parameter', '/token', () => json(JSON.stringify({ ...EXCHANGE, subject_token: { jwt: 'x' } })), 400, oauthError('invalid_request', 'parameter subject_token must be a string')],
  ['a parameter nested 10,000 arrays deep', '/token', () => json(`{"grant_type":${nested(10_000)}}`), 400, oauthError('invalid_request', 'parameter grant_type must be a string')],
  ['a document nested 16,000 arrays deep', '/verify', () => json(nested(16_000)), 400, oauthError('invalid_request', 'JSON body must be an object')],
  ['1,000 members', '/token', () => json(JSON.stringify(Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`m${i}`, 'x'])))), 400, oauthError('invalid_request', 'too many parameters')],
  ['a JSON body over 32 KiB', '/verify', () => json(JSON.stringify({ token: 'a'.repeat(40_000) })), 400, TOO_LARGE],
  ['a __proto__ member', '/token', () => json('{"__proto__":{"grant_type":"refresh_token"},"refresh_token":"x"}'), 400, oauthError('invalid_request', 'parameter __proto__ must be a string')],
  ['JSON that does not parse', '/token', () => json('{"grant_type":'), 400, oauthError('invalid_request', 'request body is not valid JSON')],
  ['JSON null', '/verify', () => json('null'), 400, oauthError('invalid_request', 'JSON body must be an object')],
  // Encodings and control characters (RFC 6749 Appendix B: UTF-8).
  ['raw bytes that are not UTF-8', '/token', () => ({ type: FORM, body: Buffer.concat([Buffer.from('grant_type=refresh_token&refresh_token='), Buffer.from([0xff, 0xfe])]) }), 400, NOT_UTF8],
  ['an overlong UTF-8 encoding of "/"', '/verify', () => ({ type: FORM, body: Buffer.concat([Buffer.from('token=a'), Buffer.from([0xc0, 0xaf])]) }), 400, NOT_UTF8],
  ['a UTF-8-encoded lone surrogate', '/revoke', () => ({ type: FORM, body: Buffer.concat([Buffer.from('token=a'), Buffer.from([0xed, 0xa0, 0x80])]) }), 400, NOT_UTF8],
  ['a JSON body in UTF-16', '/verify', () => ({ type: 'application/json', body: Buffer.from('\ufeff{"token":"x"}', 'utf16le') }), 400, NOT_UTF8],
  ['a percent-encoded byte that is not UTF-8', '/token', () => ({ type: FORM, body: 'grant_type=refresh_token&refresh_token=%FF' }), 400, oauthError('invalid_request', 'parameter refresh_token is not valid UTF-8')],
  ['a percent-encoded CR LF in a value', '/token', () => ({ type: FORM, body: 'grant_type=refresh_token&refresh_token=a%0D%0AX-Injected:%201' }), 400, oauthError('invalid_request', 'parameter refresh_token contains control characters')],
  ['a percent-encoded NUL in a value', '/verify', () => ({ type: FORM, body: 'token=a%00b' }), 400, oauthError('invalid_request', 'parameter token contains control characters')],
  ['a CR LF in a JSON string', '/token', () => json('{"grant_type":"refresh_token","refresh_token":"a\\r\\nb"}'), 400, oauthError('invalid_request', 'parameter refresh_token contains control characters')],
  ['a malformed client_id (a tab)', '/token', () => form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'web\tapp' }), 400, oauthError('invalid_request', 'client_id is malformed')],
];

/** Sends raw bytes over a socket and returns what came back until the server closed the connection. */
function rawHttp(baseUrl: string, bytes: Buffer | string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => socket.end(bytes));
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/** A whole HTTP/1.1 request as bytes, with `Connection: close`; `head` lines are sent exactly as written. */
function rawPost(path: string, head: string[], body: string): string {
  return [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...head, '', body].join('\r\n');
}

const REFRESH_BODY = 'grant_type=refresh_token&refresh_token=tgr_AAAAAAAAAAAAAAAAAAAAAA.abc';

/** Requests HTTP itself forbids; Node's parser answers `400 Bad Request` before any handler runs (API Gateway does the same). */
const BROKEN_HTTP: [string, (s: AttackSuite) => string][] = [
  ['a bare CR inside a header value', () => rawPost('/token', [`Content-Type: ${FORM}\rX-Injected: 1`, `Content-Length: ${REFRESH_BODY.length}`], REFRESH_BODY)],
  ['a bare LF inside a header value', () => rawPost('/token', [`Content-Type: ${FORM}`, 'X-Note: a\nX-Injected: 1', `Content-Length: ${REFRESH_BODY.length}`], REFRESH_BODY)],
  ['a NUL inside a header value', () => rawPost('/verify', [`Content-Type: ${FORM}`, 'X-Note: a\0b', 'Content-Length: 7'], 'token=x')],
  ['CR LF smuggled into an Authorization value', (s) => rawPost('/revoke', [`Authorization: Bearer ${s.secret('secret-bearer-value-crlf')}\r`, `Content-Type: ${FORM}`, 'Content-Length: 7'], 'token=x')],
  ['a folded header line (obs-fold)', () => rawPost('/token', [`Content-Type: ${FORM}`, 'X-Note: a', ' X-Injected: 1', `Content-Length: ${REFRESH_BODY.length}`], REFRESH_BODY)],
  ['Content-Length and Transfer-Encoding together', () => rawPost('/token', [`Content-Type: ${FORM}`, `Content-Length: ${REFRESH_BODY.length}`, 'Transfer-Encoding: chunked'], `${REFRESH_BODY.length.toString(16)}\r\n${REFRESH_BODY}\r\n0\r\n\r\n`)],
  ['two different Content-Length values', () => rawPost('/token', [`Content-Type: ${FORM}`, `Content-Length: ${REFRESH_BODY.length}`, 'Content-Length: 3'], REFRESH_BODY)],
  ['a header name with a space', () => rawPost('/verify', [`Content-Type: ${FORM}`, 'X Evil: 1', 'Content-Length: 7'], 'token=x')],
];

describe('abusive requests at /token, /verify and /revoke', () => {
  let suite: AttackSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startAttackSuite({ clock });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it.each(CASES.map(([name, endpoint, make, status, expected]) => [name, endpoint, status, expected, make] as const))('%s at %s: %i with its fixed body, nothing issued or written', async (_name, endpoint, status, expected, make) => {
    const { type, body } = await make(suite);
    const before = await suite.snapshot();

    const answer = await request(`${suite.tollgate.baseUrl}${endpoint}`, {
      method: 'POST',
      headers: type ? { 'content-type': type } : {},
      // Bytes, so fetch adds no content type of its own.
      body: new Uint8Array(typeof body === 'string' ? Buffer.from(body) : body),
    });

    expect(answer.status).toBe(status);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual(expected);
    expect(await suite.snapshot()).toEqual(before);
  });

  it.each(BROKEN_HTTP)('%s: refused as a bad HTTP request before any handler runs, nothing written', async (_name, make) => {
    const before = await suite.snapshot();

    const answer = await rawHttp(suite.tollgate.baseUrl, make(suite));

    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(await suite.snapshot()).toEqual(before);
  });

  it('logged none of the tokens and Authorization values it sent', () => {
    expectNothingLogged(suite);
  });
});
