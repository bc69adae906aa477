// A settable clock for the contract suites (stores receive `now` as a function).
export class TestClock {
  private t: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  /** Bound, so it can be passed as `now`. */
  readonly now = (): number => this.t;
  set(ms: number): void {
    this.t = ms;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** Awaits `p` and returns the error it rejected with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, got a result');
}
