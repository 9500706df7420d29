import {
  looksLikeRefreshToken,
  newRefreshToken,
  newSessionId,
  newWriteId,
  openSuccessor,
  parseRefreshToken,
  sameHash,
  sealSuccessor,
  singleUseSessionId,
  tokenFingerprint,
} from '../../src/domain/refresh-token';

const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
const SECRET = 'B'.repeat(43);

describe('newRefreshToken', () => {
  it('is tgr_<sid>.<256-bit secret> and parses back to its sid and hash', () => {
    const sid = newSessionId();
    const { token, secretHash } = newRefreshToken(sid);

    expect(token).toMatch(/^tgr_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.split('.')[1]!, 'base64url')).toHaveLength(32);
    expect(parseRefreshToken(token)).toEqual({ sid, secretHash });
  });

  it('never stores the secret: the hash is not the secret', () => {
    const { token, secretHash } = newRefreshToken(newSessionId());

    expect(token).not.toContain(secretHash);
    expect(secretHash).not.toContain(token.split('.')[1]);
  });

  it('differs on every call', () => {
    const sid = newSessionId();
    const tokens = new Set(Array.from({ length: 50 }, () => newRefreshToken(sid).token));

    expect(tokens.size).toBe(50);
  });
});

describe('newSessionId', () => {
  it('is 128 random bits in base64url', () => {
    const sid = newSessionId();

    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(sid, 'base64url')).toHaveLength(16);
  });
});

describe('parseRefreshToken', () => {
  it.each([
    ['empty', ''],
    ['no prefix', `${SID}.${SECRET}`],
    ['another prefix', `tgx_${SID}.${SECRET}`],
    ['upper-case prefix', `TGR_${SID}.${SECRET}`],
    ['prefix only', 'tgr_'],
    ['no secret', `tgr_${SID}`],
    ['empty secret', `tgr_${SID}.`],
    ['empty sid', `tgr_.${SECRET}`],
    ['short sid', `tgr_${SID.slice(1)}.${SECRET}`],
    ['long sid', `tgr_${SID}A.${SECRET}`],
    ['short secret', `tgr_${SID}.${SECRET.slice(1)}`],
    ['long secret', `tgr_${SID}.${SECRET}B`],
    ['three parts', `tgr_${SID}.${SECRET}.x`],
    ['padding', `tgr_${SID}.${SECRET.slice(1)}=`],
    ['base64 (not url) characters', `tgr_${SID}.${SECRET.slice(2)}+/`],
    ['a space', `tgr_${SID}.${SECRET.slice(1)} `],
    ['a newline', `tgr_${SID}.${SECRET}\n`],
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('rejects %s', (_name, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it('accepts the exact format', () => {
    expect(parseRefreshToken(`tgr_${SID}.${SECRET}`)).toEqual({ sid: SID, secretHash: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it('hashes the secret deterministically', () => {
    expect(parseRefreshToken(`tgr_${SID}.${SECRET}`)!.secretHash).toBe(parseRefreshToken(`tgr_${SID}.${SECRET}`)!.secretHash);
    expect(parseRefreshToken(`tgr_${SID}.${SECRET}`)!.secretHash).not.toBe(parseRefreshToken(`tgr_${SID}.${'C'.repeat(43)}`)!.secretHash);
  });
});

describe('looksLikeRefreshToken', () => {
  it.each([
    ['tgr_anything', true],
    ['eyJhbGciOiJSUzI1NiJ9.e30.x', false],
    ['', false],
  ])('%s → %s', (token, expected) => {
    expect(looksLikeRefreshToken(token)).toBe(expected);
  });
});

describe('sameHash', () => {
  it.each([
    ['equal', 'abc', 'abc', true],
    ['different', 'abc', 'abd', false],
    ['different lengths', 'abc', 'abcd', false],
    ['undefined', undefined, 'abc', false],
  ])('%s', (_name, a, b, expected) => {
    expect(sameHash(a, b)).toBe(expected);
  });
});

describe('tokenFingerprint', () => {
  it('is a stable SHA-256 that does not contain the token', () => {
    expect(tokenFingerprint('a.b.c')).toBe(tokenFingerprint('a.b.c'));
    expect(tokenFingerprint('a.b.c')).not.toBe(tokenFingerprint('a.b.d'));
    expect(tokenFingerprint('a.b.c')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('sealSuccessor / openSuccessor (the rotation grace window)', () => {
  const sid = newSessionId();
  const previous = newRefreshToken(sid);
  const successor = newRefreshToken(sid);

  it('opens, with the previous token, exactly the successor it sealed', () => {
    const box = sealSuccessor(previous.token, successor.token);

    expect(openSuccessor(previous.token, box)).toBe(successor.token);
    expect(parseRefreshToken(openSuccessor(previous.token, box)!)!.secretHash).toBe(successor.secretHash);
  });

  it('holds no usable token: neither secret nor their stored hashes are in it, and it differs on every seal', () => {
    const box = sealSuccessor(previous.token, successor.token);

    for (const part of [successor.token.split('.')[1]!, previous.token.split('.')[1]!, successor.secretHash, previous.secretHash]) expect(box).not.toContain(part);
    expect(sealSuccessor(previous.token, successor.token)).not.toBe(box);
  });

  it.each([
    ['another token of the session (the successor itself)', () => successor.token],
    ['a token of another session with the same secret', () => `tgr_${newSessionId()}.${previous.token.split('.')[1]}`],
    ['a forged token', () => newRefreshToken(sid).token],
    ['no token', () => 'not-a-token'],
  ])('does not open for %s', (_name, presented) => {
    expect(openSuccessor(presented(), sealSuccessor(previous.token, successor.token))).toBeUndefined();
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['another version', sealSuccessor(previous.token, successor.token).replace(/^v1\./, 'v2.')],
    ['truncated', sealSuccessor(previous.token, successor.token).slice(0, -2)],
    ['tampered', sealSuccessor(previous.token, successor.token).replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'))],
    ['an extra part', `${sealSuccessor(previous.token, successor.token)}.x`],
  ])('does not open a box that is %s', (_name, box) => {
    expect(openSuccessor(previous.token, box)).toBeUndefined();
  });

  it('refuses to seal tokens of two sessions', () => {
    expect(() => sealSuccessor(previous.token, newRefreshToken(newSessionId()).token)).toThrow();
  });
});

describe('singleUseSessionId', () => {
  it('is a sid-shaped digest of the single-use key: the same key, the same sid; another key, another sid', () => {
    const sid = singleUseSessionId('subject#github#run-1');

    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(singleUseSessionId('subject#github#run-1')).toBe(sid);
    expect(singleUseSessionId('subject#github#run-2')).not.toBe(sid);
    expect(singleUseSessionId('subject#ghes#run-1')).not.toBe(sid);
    expect(parseRefreshToken(newRefreshToken(sid).token)!.sid).toBe(sid);
  });
});

describe('newWriteId', () => {
  it('is 96 random bits, different on every call', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newWriteId()));

    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
