import { slidingWindowDecision } from '../../src/adapters/dynamo-rate-limiter';

const W = 60_000;

describe('slidingWindowDecision', () => {
  it.each([
    ['the limit exactly, no previous window', { previous: 0, current: 100, elapsedMs: 1_000 }, true],
    ['one over, no previous window', { previous: 0, current: 101, elapsedMs: 59_000 }, false],
    ['a full previous window at its start', { previous: 100, current: 1, elapsedMs: 0 }, false],
    ['a full previous window half slid out', { previous: 100, current: 50, elapsedMs: 30_000 }, true],
    ['a full previous window half slid out, one more', { previous: 100, current: 51, elapsedMs: 30_000 }, false],
  ])('%s', (_name, counts, allowed) => {
    expect(slidingWindowDecision({ ...counts, windowMs: W, limit: 100 }).allowed).toBe(allowed);
  });

  it('never lets a burst at a window boundary double the limit', () => {
    // 100 requests at the very end of one window, then as many as allowed right after the boundary.
    let admitted = 0;
    for (let current = 1; current <= 100; current++) {
      if (slidingWindowDecision({ previous: 100, current, elapsedMs: 1_000, windowMs: W, limit: 100 }).allowed) admitted++;
    }
    expect(admitted).toBeLessThanOrEqual(2);
  });

  it.each([
    // Over in this window, no previous: wait for the next window, where 101 × (1 − g) + 1 ≤ 100 needs g ≥ 2/101.
    ['only the current window is full', { previous: 0, current: 101, elapsedMs: 50_000 }, Math.ceil((10_000 + (W * 2) / 101) / 1000)],
    // The previous window must slide out until 100 × (1 − f) + 41 ≤ 100, f ≥ 0.41: 24.6 s in, 14.6 s from now.
    ['the previous window must slide out', { previous: 100, current: 40, elapsedMs: 10_000 }, 15],
  ])('says when to retry: %s', (_name, counts, seconds) => {
    const decision = slidingWindowDecision({ ...counts, windowMs: W, limit: 100 });
    expect(decision).toMatchObject({ allowed: false, retryAfterSeconds: seconds });
  });

  it('a retry at Retry-After is admitted when nothing else arrived', () => {
    const refused = slidingWindowDecision({ previous: 100, current: 40, elapsedMs: 10_000, windowMs: W, limit: 100 });
    const later = 10_000 + refused.retryAfterSeconds * 1000;
    expect(slidingWindowDecision({ previous: 100, current: 41, elapsedMs: later, windowMs: W, limit: 100 }).allowed).toBe(true);
  });
});
