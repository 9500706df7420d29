import fc from 'fast-check';

/**
 * The property suites' budget, the same in CI and on a laptop unless asked:
 * - `FC_SEED`: the seed (default fixed, so CI runs the same cases every
 *   time); `FC_SEED=random` draws one (fast-check prints it with any
 *   counterexample, so a failure can be replayed with `FC_SEED=<it>`);
 * - `FC_NUM_RUNS`: a multiplier of each property's default number of runs
 *   (default 1; e.g. `FC_NUM_RUNS=20` for a long local hunt);
 * - every property also stops after `FC_TIME_LIMIT_MS` (default 8 s) of
 *   runs without failing, so the whole suite stays well under a minute.
 * A counterexample found this way becomes a named regression test next to
 * the property (see `test/property/regressions.test.ts`).
 */
export const FIXED_SEED = 20261206;

function seed(): number {
  const raw = process.env.FC_SEED;
  if (!raw) return FIXED_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`FC_SEED must be an integer or "random", got ${raw}`);
  return value;
}

const SEED = seed();

/** fast-check parameters for a property with `runs` cases by default. */
export function budget<T>(runs: number): fc.Parameters<T> {
  const factor = Number(process.env.FC_NUM_RUNS ?? '1');
  return {
    seed: SEED,
    numRuns: Math.max(1, Math.round(runs * (Number.isFinite(factor) && factor > 0 ? factor : 1))),
    interruptAfterTimeLimit: Number(process.env.FC_TIME_LIMIT_MS ?? '8000'),
    markInterruptAsFailure: false,
  };
}

/** One UTF-16 code unit, lone surrogates included. */
export const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));

/** Names that are members of `Object.prototype`, in several letter cases. */
export const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', '__defineGetter__', '__lookupSetter__', 'toLocaleString'];
export const prototypeName = fc.constantFrom(...PROTOTYPE_NAMES).chain((name) => fc.mixedCase(fc.constant(name)));

/** Any string: mostly printable ASCII, often other UTF-16 units (lone surrogates too), sometimes a prototype name. */
export const anyString = (maxLength = 40) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: utf16Unit, maxLength }) },
    { weight: 1, arbitrary: prototypeName },
  );
