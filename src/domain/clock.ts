/** The one source of time. Services take it in their constructor so expiry logic is testable without fake timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the epoch, as JWT `iat`/`exp` use. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
