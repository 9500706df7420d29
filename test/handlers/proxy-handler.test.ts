import { rawProxyPath, toHttpResult } from '../../src/handlers/proxy-handler';
import type { HttpEvent } from '../../src/http/api-event';

describe('rawProxyPath', () => {
  const event = (path: string, resource = '/proxy/{proxy+}') => ({ path, resource }) as HttpEvent;

  it.each([
    ['/proxy/orders/%2e%2e/x', 'orders/%2e%2e/x'],
    ['/proxy/a', 'a'],
    ['/v1/proxy/orders/1', 'orders/1'],
  ])('takes the raw path after the resource prefix: %s', (path, raw) => {
    expect(rawProxyPath(event(path))).toBe(raw);
  });

  it('has nothing when the path is not under the proxy resource', () => {
    expect(rawProxyPath(event('/token'))).toBeUndefined();
  });
});

describe('toHttpResult', () => {
  it.each([
    ['application/json', '{"a":"é"}'],
    ['application/problem+json; charset=utf-8', '{"title":"x"}'],
    ['text/csv', 'a,b\n1,2'],
    ['application/xml', '<a/>'],
  ])('returns a %s body as text', (type, text) => {
    expect(toHttpResult(200, [['content-type', type]], Buffer.from(text))).toMatchObject({ body: text, isBase64Encoded: false });
  });

  it.each([
    ['an image', [['content-type', 'image/png']], Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ['an unknown type', [['content-type', 'application/octet-stream']], Buffer.from('plain')],
    ['no content type', [], Buffer.from('plain')],
    ['compressed JSON', [['content-type', 'application/json'], ['content-encoding', 'gzip']], Buffer.from([0x1f, 0x8b, 0x08])],
    ['JSON that is not UTF-8', [['content-type', 'application/json']], Buffer.from([0x7b, 0xff, 0x7d])],
  ] as [string, [string, string][], Buffer][])('returns %s base64-encoded', (_name, headers, body) => {
    expect(toHttpResult(200, headers, body)).toMatchObject({ body: body.toString('base64'), isBase64Encoded: true });
  });

  it('keeps single headers in headers and repeated ones in multiValueHeaders', () => {
    const result = toHttpResult(204, [['etag', '"1"'], ['x-multi', 'a'], ['X-Multi', 'b']], Buffer.alloc(0));
    expect(result).toEqual({ statusCode: 204, headers: { etag: '"1"' }, multiValueHeaders: { 'x-multi': ['a', 'b'] }, body: '', isBase64Encoded: false });
  });
});
