// A clock tests move by hand: rate-limit refills and key expiry without sleeping.
import type { GatewayClock } from '../types.js';

export class ManualClock implements GatewayClock {
  constructor(private ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
