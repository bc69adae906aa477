// Injected time (CONVENTIONS 10): components never call Date.now or the timer globals directly,
// so tests drive time with a manual clock and stay deterministic.

export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref?(): unknown };
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): { unref?(): unknown };
  clearTimeout(handle: unknown): void;
}

/**
 * Runs `fn` every `ms` on `clock` without keeping the process alive; a rejection (or throw) goes
 * to `onError` (default: ignored, for ticks that report their own failures). Returns the stop.
 */
export function every(clock: Clock, ms: number, fn: () => Promise<unknown> | void, onError: (err: unknown) => void = () => undefined): () => void {
  const handle = clock.setInterval(() => {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(onError);
    } catch (err) {
      onError(err);
    }
  }, ms);
  handle.unref?.();
  return () => clock.clearInterval(handle);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
