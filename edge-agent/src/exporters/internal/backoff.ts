// Jittered exponential backoff: delay_n = min(max, initial * multiplier^n) * U[1-jitter, 1+jitter],
// capped at max; reset() after a success. The random source is injected for tests.
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  jitter: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one failure. */
  next(): number {
    const { initialMs, maxMs, multiplier, jitter } = this.opts;
    const base = Math.min(maxMs, initialMs * multiplier ** Math.min(this.attempt, 64));
    this.attempt++;
    const factor = 1 - jitter + 2 * jitter * this.random();
    return Math.max(0, Math.min(maxMs, Math.round(base * factor)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
