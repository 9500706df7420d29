import { differenceOf, percentile, ratioOf, spread } from '../../bench/stats';
import { dynamoItemBytes, storeTarget } from '../../bench/sections/store-requests';

describe('spread', () => {
  it.each([
    { rounds: [3], median: 3, min: 3, max: 3 },
    { rounds: [5, 1, 3], median: 3, min: 1, max: 5 },
    { rounds: [4, 1, 3, 2], median: 2.5, min: 1, max: 4 },
  ])('gives median $median, min $min and max $max of $rounds', ({ rounds, median, min, max }) => {
    expect(spread(rounds)).toEqual({ median, min, max, rounds });
  });

  it('refuses an empty list of rounds', () => {
    expect(() => spread([])).toThrow('spread of no rounds');
  });
});

describe('ratioOf and differenceOf', () => {
  it('pairs the rounds of two spreads index by index', () => {
    const a = spread([10, 20, 30]);
    const b = spread([5, 5, 10]);
    expect(ratioOf(a, b).rounds).toEqual([2, 4, 3]);
    expect(differenceOf(a, b).rounds).toEqual([5, 15, 20]);
    expect(ratioOf(a, b).median).toBe(3);
  });
});

describe('percentile', () => {
  it.each([
    { p: 50, expected: 5 },
    { p: 99, expected: 10 },
    { p: 1, expected: 1 },
    { p: 100, expected: 10 },
  ])('is the nearest-rank p$p of 1..10', ({ p, expected }) => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p)).toBe(expected);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('storeTarget', () => {
  const counts = (overrides: Partial<Parameters<typeof storeTarget>[1]>) => ({
    reads: 0,
    writes: 0,
    conditionalWrites: 0,
    consistentReads: 0,
    rateLimitWrites: 0,
    rateLimitReads: 0,
    roundTrips: 0,
    ...overrides,
  });

  it.each([
    { operation: 'exchange', worst: counts({ writes: 2, conditionalWrites: 2 }), pass: true, passWithoutRateLimits: true },
    { operation: 'exchange', worst: counts({ writes: 4, conditionalWrites: 2, rateLimitWrites: 2 }), pass: false, passWithoutRateLimits: true },
    { operation: 'refresh', worst: counts({ reads: 1, writes: 1, conditionalWrites: 1 }), pass: true, passWithoutRateLimits: true },
    { operation: 'refresh', worst: counts({ reads: 1, writes: 1, conditionalWrites: 0 }), pass: false, passWithoutRateLimits: false },
    { operation: 'verify (cold)', worst: counts({ reads: 1 }), pass: true, passWithoutRateLimits: true },
    { operation: 'verify (cached)', worst: counts({ reads: 1 }), pass: false, passWithoutRateLimits: false },
    { operation: 'proxy (cold)', worst: counts({ reads: 2, writes: 1, rateLimitWrites: 1, rateLimitReads: 1 }), pass: false, passWithoutRateLimits: true },
    { operation: 'proxy (cached)', worst: counts({ writes: 1, rateLimitWrites: 1 }), pass: true, passWithoutRateLimits: true },
    { operation: 'proxy (cached)', worst: counts({ writes: 2, rateLimitWrites: 1 }), pass: false, passWithoutRateLimits: false },
  ])('judges $operation with $worst.reads reads and $worst.writes writes', ({ operation, worst, pass, passWithoutRateLimits }) => {
    expect(storeTarget(operation, worst)).toMatchObject({ pass, passWithoutRateLimits });
  });

  it('sets no target for revocation', () => {
    expect(storeTarget('revoke (access token)', counts({ writes: 1 }))).toBeUndefined();
  });
});

describe('dynamoItemBytes', () => {
  it.each([
    { value: 'abc', bytes: 3 },
    { value: 'é', bytes: 2 },
    { value: 12345, bytes: 4 },
    { value: true, bytes: 1 },
    { value: ['ab', 'c'], bytes: 3 + 1 + 2 + 1 + 1 },
    { value: { sid: 'abcd' }, bytes: 3 + 1 + 3 + 4 },
  ])('sizes $value as $bytes bytes', ({ value, bytes }) => {
    expect(dynamoItemBytes(value)).toBe(bytes);
  });
});
