import type { HttpEvent } from '../../src/http/api-event';
import { MAX_FORM_BODY_BYTES, readParameters, required } from '../../src/http/form';
import { OAuthError } from '../../src/domain/errors';

const FORM = 'application/x-www-form-urlencoded';

/** An API Gateway REST (v1) event as Tollgate receives it: binary media types, so the body is base64. */
function event(body: string | Buffer | null, contentType: string | null = FORM, method = 'POST'): HttpEvent {
  const bytes = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return {
    httpMethod: method,
    headers: contentType === null ? {} : { 'Content-Type': contentType },
    multiValueHeaders: {},
    body: bytes && bytes.length > 0 ? bytes.toString('base64') : null,
    isBase64Encoded: Boolean(bytes && bytes.length > 0),
    path: '/token',
    resource: '/token',
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as HttpEvent['requestContext'],
  };
}

/** What `readParameters` throws, as the fields the error boundary uses. */
function failure(input: HttpEvent): { error: string; description: string; status: number; headers?: Record<string, string> } {
  try {
    readParameters(input);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return { error: error.error, description: error.description, status: error.status, ...(error.headers ? { headers: error.headers } : {}) };
  }
  throw new Error('expected readParameters to throw');
}

const invalid = (description: string) => ({ error: 'invalid_request', description, status: 400 });

describe('readParameters', () => {
  it.each([
    ['a form body', event('grant_type=refresh_token&refresh_token=tgr_x'), { grant_type: 'refresh_token', refresh_token: 'tgr_x' }],
    ['percent-encoding and +', event('scope=orders%3Aread+deploy&x=%E2%9C%93'), { scope: 'orders:read deploy', x: '✓' }],
    ['a charset parameter on the content type', event('a=1', `${FORM}; charset=UTF-8`), { a: '1' }],
    ['an upper-case content type', event('a=1', 'Application/X-WWW-Form-Urlencoded'), { a: '1' }],
    ['an empty value, treated as omitted (RFC 6749 §3.1)', event('scope=&a=1'), { a: '1' }],
    ['a name without =', event('scope&a=1'), { a: '1' }],
    ['an empty body', event(null), {}],
    ['a JSON object of strings', event('{"grant_type":"refresh_token","refresh_token":"tgr_x"}', 'application/json'), { grant_type: 'refresh_token', refresh_token: 'tgr_x' }],
    ['JSON with a charset', event('{"a":"1"}', 'application/json; charset=utf-8'), { a: '1' }],
    ['JSON null, treated as omitted', event('{"a":"1","scope":null}', 'application/json'), { a: '1' }],
    ['JSON whose strings hold quotes, commas and braces', event('{"a":"x\\",\\"b\\":{,}","b":"[\\"]"}', 'application/json'), { a: 'x","b":{,}', b: '["]' }],
    ['JSON with whitespace', event(' {\n "a" : "1" ,\t"b":"2" } ', 'application/json'), { a: '1', b: '2' }],
    ['JSON empty string, treated as omitted', event('{"a":"1","scope":""}', 'application/json'), { a: '1' }],
    ['a UTF-8 byte order mark', event(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a=1')])), { a: '1' }],
    ['a % not followed by two hex digits, kept literally', event('a=100%25&b=50%&c=%zz&d=%4'), { a: '100%', b: '50%', c: '%zz', d: '%4' }],
    ['percent-encoded multi-byte UTF-8 in a name', event('%C3%A9t%C3%A9=1'), { 'été': '1' }],
    ['a percent-encoded byte order mark kept as content', event('a=%EF%BB%BFx'), { a: '\uFEFFx' }],
    ['exactly 32 parameters', event(Array.from({ length: 32 }, (_, i) => `p${i}=v`).join('&')), Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`p${i}`, 'v']))],
  ])('reads %s', (_name, input, expected) => {
    expect(Object.fromEntries(readParameters(input))).toEqual(expected);
  });

  it('reads a body of exactly 32 KiB', () => {
    const prefix = 'subject_token=';
    const body = prefix + 'a'.repeat(MAX_FORM_BODY_BYTES - prefix.length);

    expect(readParameters(event(body)).get('subject_token')).toHaveLength(MAX_FORM_BODY_BYTES - prefix.length);
  });

  it('reads a body API Gateway did not base64-encode', () => {
    const input = { ...event(null), body: 'a=1&b=2', isBase64Encoded: false };

    expect(Object.fromEntries(readParameters(input))).toEqual({ a: '1', b: '2' });
  });

  it.each([
    ['a duplicated parameter (RFC 6749 §3.2)', event('grant_type=a&grant_type=a'), invalid('parameter grant_type is repeated')],
    ['a duplicated parameter, once empty', event('scope=&scope=a'), invalid('parameter scope is repeated')],
    ['a duplicated parameter with an odd name', event('X%20Y=1&X%20Y=2'), invalid('parameter (unnamed) is repeated')],
    ['no content type', event('a=1', null), invalid('content type must be application/x-www-form-urlencoded or application/json')],
    ['text/plain', event('a=1', 'text/plain'), invalid('content type must be application/x-www-form-urlencoded or application/json')],
    ['multipart/form-data', event('a=1', 'multipart/form-data; boundary=x'), invalid('content type must be application/x-www-form-urlencoded or application/json')],
    ['a content type that only starts like form', event('a=1', `${FORM}x`), invalid('content type must be application/x-www-form-urlencoded or application/json')],
    ['invalid JSON', event('{"a":', 'application/json'), invalid('request body is not valid JSON')],
    ['a JSON array', event('[["a","1"]]', 'application/json'), invalid('JSON body must be an object')],
    ['a JSON string', event('"a=1"', 'application/json'), invalid('JSON body must be an object')],
    ['JSON null', event('null', 'application/json'), invalid('JSON body must be an object')],
    ['an empty JSON body', event(null, 'application/json'), invalid('request body is not valid JSON')],
    ['a duplicated JSON member', event('{"grant_type":"refresh_token","refresh_token":"a","refresh_token":"b"}', 'application/json'), invalid('parameter refresh_token is repeated')],
    ['a duplicated JSON member, once null', event('{"scope":null,"scope":"a"}', 'application/json'), invalid('parameter scope is repeated')],
    ['a duplicated JSON member spelled with an escape', event('{"token":"a","tok\\u0065n":"b"}', 'application/json'), invalid('parameter token is repeated')],
    ['nested JSON', event('{"subject_token":{"a":"b"}}', 'application/json'), invalid('parameter subject_token must be a string')],
    ['a JSON array value', event('{"scope":["a","b"]}', 'application/json'), invalid('parameter scope must be a string')],
    ['a JSON number', event('{"expires_in":5}', 'application/json'), invalid('parameter expires_in must be a string')],
    ['a JSON boolean', event('{"token":true}', 'application/json'), invalid('parameter token must be a string')],
    ['a body over 32 KiB', event('a=' + 'b'.repeat(MAX_FORM_BODY_BYTES - 1)), invalid('request body is too large')],
    ['a JSON body over 32 KiB', event(JSON.stringify({ a: 'b'.repeat(MAX_FORM_BODY_BYTES) }), 'application/json'), invalid('request body is too large')],
    ['raw non-UTF-8 bytes', event(Buffer.from([0x61, 0x3d, 0xff, 0xfe])), invalid('request body is not valid UTF-8')],
    ['an overlong UTF-8 encoding', event(Buffer.from([0x61, 0x3d, 0xc0, 0xaf])), invalid('request body is not valid UTF-8')],
    ['a lone surrogate in UTF-8', event(Buffer.from([0x61, 0x3d, 0xed, 0xa0, 0x80])), invalid('request body is not valid UTF-8')],
    ['percent-encoded non-UTF-8', event('subject_token=%FF%FE'), invalid('parameter subject_token is not valid UTF-8')],
    ['percent-encoded non-UTF-8 in a name', event('a%FF=1'), invalid('parameter (unnamed) is not valid UTF-8')],
    ['a truncated percent-encoded sequence', event('scope=%E2%9C'), invalid('parameter scope is not valid UTF-8')],
    ['non-UTF-8 bytes in JSON', event(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]), 'application/json'), invalid('request body is not valid UTF-8')],
    ['a CR in a value', event('token=a%0Db'), invalid('parameter token contains control characters')],
    ['a LF in a value', event('token=a%0Ab'), invalid('parameter token contains control characters')],
    ['a NUL in a value', event('token=a%00b'), invalid('parameter token contains control characters')],
    ['a NUL in a name', event('tok%00en=a'), invalid('parameter (unnamed) contains control characters')],
    ['a LF in a JSON value', event('{"token":"a\\nb"}', 'application/json'), invalid('parameter token contains control characters')],
    ['a NUL in a JSON value', event('{"token":"a\\u0000b"}', 'application/json'), invalid('parameter token contains control characters')],
    ['33 parameters', event(Array.from({ length: 33 }, (_, i) => `p${i}=v`).join('&')), invalid('too many parameters')],
    ['33 empty parameters', event(Array.from({ length: 33 }, (_, i) => `p${i}=`).join('&')), invalid('too many parameters')],
    ['33 JSON parameters', event(JSON.stringify(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, 'v']))), 'application/json'), invalid('too many parameters')],
    ['GET (405 with Allow)', event(null, null, 'GET'), { error: 'invalid_request', description: 'use POST', status: 405, headers: { Allow: 'POST' } }],
    ['PUT (405 with Allow)', event('a=1', FORM, 'PUT'), { error: 'invalid_request', description: 'use POST', status: 405, headers: { Allow: 'POST' } }],
  ])('rejects %s', (_name, input, expected) => {
    expect(failure(input)).toEqual(expected);
  });

  it('never echoes a long or unusual parameter name', () => {
    const name = 'a'.repeat(41);

    expect(failure(event(`${name}=1&${name}=2`)).description).toBe('parameter (unnamed) is repeated');
  });
});

describe('required', () => {
  it('returns a present parameter', () => {
    expect(required(new Map([['token', 'x']]), 'token')).toBe('x');
  });

  it('names a missing parameter in an invalid_request', () => {
    expect(() => required(new Map(), 'token')).toThrow(expect.objectContaining({ error: 'invalid_request', description: 'missing token', status: 400 }));
  });
});
