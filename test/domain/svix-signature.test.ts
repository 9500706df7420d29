import { randomBytes } from 'node:crypto';
import { parseSigningSecrets, svixSignature, verifySvixDelivery, type SvixDelivery } from '../../src/domain/svix-signature';

describe('verifySvixDelivery', () => {
  // Svix's published example (docs.svix.com, "verifying payloads manually").
  it('accepts the Svix documentation example', () => {
    const secrets = parseSigningSecrets('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const delivery: SvixDelivery = {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: '1614265330',
      signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      body: Buffer.from('{"test": 2432232314}'),
    };
    expect(verifySvixDelivery(delivery, secrets, 1614265330 + 10)).toMatchObject({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330 });
  });

  const secret = randomBytes(24);
  const other = randomBytes(24);
  const now = 1_800_000_000;
  const body = Buffer.from('{"type":"session.ended","data":{"id":"sess_1"}}');
  const sign = (key = secret, id = 'msg_1', timestamp = String(now), bytes: Uint8Array = body) => `v1,${svixSignature(key, id, timestamp, bytes).toString('base64')}`;
  const delivery = (overrides: Partial<SvixDelivery> = {}): SvixDelivery => ({ id: 'msg_1', timestamp: String(now), signature: sign(), body, ...overrides });

  it.each([
    ['a valid signature', {}],
    ['the matching signature listed after a wrong one', { signature: `v1,${Buffer.alloc(32).toString('base64')} ${sign()}` }],
    ['an asymmetric v1a entry next to the v1 one', { signature: `v1a,${Buffer.alloc(64).toString('base64')} ${sign()}` }],
    ['a timestamp exactly 5 minutes old', { timestamp: String(now - 300), signature: sign(secret, 'msg_1', String(now - 300)) }],
    ['a timestamp exactly 5 minutes ahead', { timestamp: String(now + 300), signature: sign(secret, 'msg_1', String(now + 300)) }],
    ['a timestamp with leading zeros, signed as sent', { timestamp: `00${now}`, signature: sign(secret, 'msg_1', `00${now}`) }],
  ])('accepts %s', (_name, overrides) => {
    expect(() => verifySvixDelivery(delivery(overrides), [secret], now)).not.toThrow();
  });

  it('tries every configured secret (rotation)', () => {
    expect(() => verifySvixDelivery(delivery({ signature: sign(other) }), [secret, other], now)).not.toThrow();
  });

  it.each([
    ['no svix-id', { id: undefined }, 'unsigned', 401],
    ['no svix-timestamp', { timestamp: undefined }, 'unsigned', 401],
    ['no svix-signature', { signature: undefined }, 'unsigned', 401],
    ['a timestamp 301 s old', { timestamp: String(now - 301), signature: sign(secret, 'msg_1', String(now - 301)) }, 'stale', 401],
    ['a timestamp 301 s ahead', { timestamp: String(now + 301), signature: sign(secret, 'msg_1', String(now + 301)) }, 'stale', 401],
    ['a signature under another secret', { signature: sign(other) }, 'bad_signature', 401],
    ['a signature of another body', { signature: sign(secret, 'msg_1', String(now), Buffer.from('{}')) }, 'bad_signature', 401],
    ['a signature for another svix-id', { id: 'msg_2' }, 'bad_signature', 401],
    ['a signature for another timestamp', { timestamp: String(now - 1) }, 'bad_signature', 401],
    ['a body changed by one byte', { body: Buffer.from(body.toString().replace('sess_1', 'sess_2')) }, 'bad_signature', 401],
    ['a truncated signature', { signature: sign().slice(0, -8) }, 'bad_signature', 401],
    ['only v1a entries', { signature: `v1a,${Buffer.alloc(64).toString('base64')}` }, 'bad_signature', 401],
    ['an entry without a version', { signature: svixSignature(secret, 'msg_1', String(now), body).toString('base64') }, 'malformed_headers', 400],
    ['a v1 entry that is not base64', { signature: 'v1,not*base64' }, 'malformed_headers', 400],
    ['an empty svix-id', { id: '' }, 'malformed_headers', 400],
    ['a svix-id with a space', { id: 'msg 1' }, 'malformed_headers', 400],
    ['a timestamp that is not a number', { timestamp: '2026-01-01T00:00:00Z' }, 'malformed_headers', 400],
    ['a negative timestamp', { timestamp: '-1' }, 'malformed_headers', 400],
    ['an oversized signature header', { signature: `${sign()} ${'v1,AAAA '.repeat(600)}` }, 'malformed_headers', 400],
  ])('refuses %s', (_name, overrides, code, status) => {
    expect(() => verifySvixDelivery(delivery(overrides as Partial<SvixDelivery>), [secret], now)).toThrow(expect.objectContaining({ code, status }));
  });
});

describe('parseSigningSecrets', () => {
  it.each([
    ['a whsec_ secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1],
    ['a bare base64 secret', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1],
    ['two secrets during rotation', `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw  whsec_${randomBytes(32).toString('base64')}\n`, 2],
  ])('reads %s', (_name, value, count) => {
    expect(parseSigningSecrets(value)).toHaveLength(count);
  });

  it.each([
    ['nothing', '   '],
    ['a short secret', 'whsec_c2hvcnQ='],
    ['not base64', 'whsec_not*base64*at*all*0123456789'],
  ])('refuses %s as an unavailable secret (503), never accepting everything', (_name, value) => {
    expect(() => parseSigningSecrets(value)).toThrow(expect.objectContaining({ name: 'UnavailableError', dependency: 'secrets' }));
  });
});
