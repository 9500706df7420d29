import type { Clock } from '../../src/domain/clock';

/** A clock tests move by hand: expiry logic without fake timers. */
export class TestClock implements Clock {
  constructor(private current = Date.now()) {}
  now(): number {
    return this.current;
  }
  advance(seconds: number): void {
    this.current += seconds * 1000;
  }
}
