import { nextIdleExpiry, sessionState, type Session } from '../../src/domain/session';

const POLICY = { maxLifetimeSeconds: 3_600, idleTimeoutSeconds: 600, maxRefreshes: 8, refreshReuseGraceSeconds: 10 };

function session(overrides: Partial<Session> = {}): Session {
  return {
    sid: 'AAAAAAAAAAAAAAAAAAAAAA',
    sub: 'github:repo:acme/app:ref:refs/heads/main',
    kind: 'ci',
    trust: 'github',
    scopes: ['deploy'],
    sidCreatedAt: 1_000,
    sidExpiry: 4_600,
    idleExpiry: 1_600,
    refreshCount: 0,
    refreshHash: 'h',
    usedHashes: [],
    status: 'active',
    context: {},
    ttl: 4_600 + 86_400,
    ...overrides,
  };
}

describe('sessionState', () => {
  it.each([
    ['active at creation', session(), 1_000, { active: true }],
    ['active one second before the idle end', session(), 1_599, { active: true }],
    ['idle at the idle end', session(), 1_600, { active: false, reason: 'idle', timedOutNow: true }],
    ['absolute at sidExpiry', session({ idleExpiry: 4_600 }), 4_600, { active: false, reason: 'absolute', timedOutNow: true }],
    ['absolute wins over idle when both passed', session(), 5_000, { active: false, reason: 'absolute', timedOutNow: true }],
    ['revoked', session({ status: 'revoked', endReason: 'revoked' }), 1_100, { active: false, reason: 'revoked', timedOutNow: false }],
    ['revoked for reuse', session({ status: 'revoked', endReason: 'refresh_reuse' }), 1_100, { active: false, reason: 'refresh_reuse', timedOutNow: false }],
    ['ended for max_refreshes', session({ status: 'ended', endReason: 'max_refreshes' }), 1_100, { active: false, reason: 'max_refreshes', timedOutNow: false }],
    ['ended earlier, now past its limits too: not timed out again', session({ status: 'ended', endReason: 'idle' }), 9_000, { active: false, reason: 'idle', timedOutNow: false }],
    ['not active without a reason counts as revoked', session({ status: 'revoked' }), 1_100, { active: false, reason: 'revoked', timedOutNow: false }],
  ])('%s', (_name, value, now, expected) => {
    expect(sessionState(value, now)).toEqual(expected);
  });
});

describe('nextIdleExpiry', () => {
  it.each([
    ['moves the idle window from now', 2_000, 4_600, 2_600],
    ['never beyond the absolute end', 4_200, 4_600, 4_600],
    ['at the absolute end', 4_600, 4_600, 4_600],
  ])('%s', (_name, now, sidExpiry, expected) => {
    expect(nextIdleExpiry(now, sidExpiry, POLICY)).toBe(expected);
  });
});
