import { parseRetryAfter, resolveRetryOptions, retryDelay } from '../../src/client/retry-policy';

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['delay-seconds', '3', 3000],
    ['zero', '0', 0],
    ['surrounding spaces', ' 7 ', 7000],
    ['an IMF-fixdate in the future', 'Thu, 01 Jan 2026 00:00:05 GMT', 5000],
    ['an IMF-fixdate in the past', 'Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['absent', undefined, undefined],
    ['null (no header)', null, undefined],
    ['empty', '', undefined],
    ['negative', '-1', undefined],
    ['fractional', '1.5', undefined],
    ['a number with a unit', '5s', undefined],
    ['too many digits', '12345678901', undefined],
    ['an obsolete RFC 850 date', 'Thursday, 01-Jan-26 00:00:05 GMT', undefined],
    ['garbage', 'soon', undefined],
  ])('%s', (_name, header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe('retryDelay', () => {
  const options = (random: number) => resolveRetryOptions({ maxRetries: 2, maxDelayMs: 10_000, baseDelayMs: 200, random: () => random });

  it('waits at least Retry-After, plus at most 20% (at least 100 ms) of jitter', () => {
    expect(retryDelay(1, 2000, options(0))).toBe(2000);
    expect(retryDelay(1, 2000, options(0.999))).toBe(2400);
    expect(retryDelay(1, 0, options(0.5))).toBe(50);
  });

  it('never waits longer than maxDelayMs', () => {
    expect(retryDelay(1, 9_500, options(0.999))).toBe(10_000);
  });

  it('gives up when the server asks for longer than maxDelayMs', () => {
    expect(retryDelay(1, 10_001, options(0))).toBeUndefined();
  });

  it('backs off exponentially with full jitter without Retry-After', () => {
    expect(retryDelay(1, undefined, options(0.5))).toBe(100);
    expect(retryDelay(2, undefined, options(0.5))).toBe(200);
    expect(retryDelay(2, undefined, options(0))).toBe(0);
  });

  it('stops after maxRetries', () => {
    expect(retryDelay(3, 1000, options(0.5))).toBeUndefined();
    expect(retryDelay(3, undefined, options(0.5))).toBeUndefined();
  });

  it('refuses an unbounded retry count', () => {
    expect(() => resolveRetryOptions({ maxRetries: 11 })).toThrow(TypeError);
    expect(() => resolveRetryOptions({ maxRetries: -1 })).toThrow(TypeError);
  });
});
