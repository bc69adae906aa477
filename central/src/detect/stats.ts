// Small statistics the detection models and their training share: robust centre and quantile,
// gap filling, and the seeded subsample the training jobs draw (one copy of each, so the graphs'
// TypeScript references, the profiler and the trainers agree).
import { mulberry32 } from '../../../shared-schemas/src/runtime/index.js';

/** Median (the mean of the two middle values for an even count); NaN when empty. */
export function medianOf(xs: ArrayLike<number>): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The value at rank floor(q (n - 1)) of the sorted values; NaN when empty. */
export function quantileOf(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))]!;
}

/** Carries the last finite value over gaps (and the first finite one back to the start; 0 when none). */
export function fillGaps(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let last = NaN;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) last = v;
    out[i] = last;
  }
  let first = NaN;
  for (let i = 0; i < out.length; i++) if (Number.isFinite(out[i]!)) { first = out[i]!; break; }
  for (let i = 0; i < out.length && !Number.isFinite(out[i]!); i++) out[i] = Number.isFinite(first) ? first : 0;
  return out;
}

/**
 * Keeps at most `max` training rows: a seeded partial Fisher-Yates draw, then back in series and
 * time order. The same rows and seed give the same subsample.
 */
export function seededSubsample<T extends { s: number; t: number }>(rows: T[], max: number, seed: number): void {
  if (rows.length <= max) return;
  const rnd = mulberry32(seed);
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rnd() * (rows.length - i));
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  rows.length = max;
  rows.sort((a, b) => a.s - b.s || a.t - b.t);
}
