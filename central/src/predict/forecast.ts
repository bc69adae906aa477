// When will a resource run out? A robust trend on the recent past of one series (issue #9,
// Deliver 5), pure:
//
// - Theil-Sen slopes (the median of pairwise slopes: a few outliers or a spike do not tilt it)
//   on the whole window and on its recent half. A trend is believed only when the recent slope is
//   positive with its lower quartile of pairwise slopes above zero (not noise), and at least half
//   the whole window's (a level shift - a step, then flat - has a recent slope near zero).
// - Seasonality: when a seasonal reference is given (the same hours one period earlier, e.g. a
//   day), the forecast runs on the difference to it, so a daily ramp that comes back down every
//   evening is not read as a leak.
// - The level now is the fitted line's value at the last point (median of the recent residuals
//   added), the crossing time (threshold - level) / slope, its range from the recent pairwise
//   slopes' quartiles.
import { percentile } from '../rca/stats.js';

export interface Forecast {
  /** Slope per ms (recent half of the window). */
  slope: number;
  /** Level at `nowMs` (robust fit). */
  level: number;
  /** When the series is expected to reach the threshold (ms); null when it does not rise toward it. */
  crossesAtMs: number | null;
  /** Crossing range from the slope's interquartile range (early, late). */
  earliestMs: number | null;
  latestMs: number | null;
  /** Points the fit used. */
  points: number;
  /** Why there is no crossing, when there is none. */
  reason?: 'too_few_points' | 'not_rising' | 'not_steady' | 'already_past';
}

export interface ForecastOptions {
  /** Points below this give no forecast. */
  minPoints: number;
  /** Nor does history spanning less than this (ms): a trend needs time to show. */
  minSpanMs?: number;
  /** Theil-Sen uses at most this many points per fit (evenly subsampled): O(n^2) pairs. */
  maxPoints?: number;
}

function subsample(t: ArrayLike<number>, v: ArrayLike<number>, from: number, to: number, max: number): { t: number[]; v: number[] } {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = from; i < to; i++) {
    if (Number.isFinite(v[i]!) && Number.isFinite(t[i]!)) {
      ts.push(t[i]!);
      vs.push(v[i]!);
    }
  }
  if (ts.length <= max) return { t: ts, v: vs };
  const step = ts.length / max;
  const out = { t: [] as number[], v: [] as number[] };
  for (let k = 0; k < max; k++) {
    const i = Math.floor(k * step);
    out.t.push(ts[i]!);
    out.v.push(vs[i]!);
  }
  return out;
}

/** Theil-Sen: the median slope, its quartiles, and the median intercept. */
export function theilSen(t: readonly number[], v: readonly number[]): { slope: number; q25: number; q75: number; intercept: number } | null {
  const n = t.length;
  if (n < 3) return null;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const dt = t[j]! - t[i]!;
    if (dt > 0) slopes.push((v[j]! - v[i]!) / dt);
  }
  if (slopes.length === 0) return null;
  slopes.sort((a, b) => a - b);
  const s = Float64Array.from(slopes);
  const slope = percentile(s, 50);
  const ints = Float64Array.from(t, (x, i) => v[i]! - slope * x).sort();
  return { slope, q25: percentile(s, 25), q75: percentile(s, 75), intercept: percentile(ints, 50) };
}

/**
 * Forecasts when `values` (at `timesMs`, ascending) reach `threshold`. `seasonal`, when given,
 * is subtracted point by point first (NaN entries are left as they are).
 */
export function forecastCrossing(timesMs: ArrayLike<number>, values: ArrayLike<number>, threshold: number, nowMs: number, o: ForecastOptions, seasonal?: ArrayLike<number>): Forecast {
  const n = timesMs.length;
  let v: ArrayLike<number> = values;
  if (seasonal) {
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = Number.isFinite(seasonal[i]!) ? values[i]! - seasonal[i]! + (seasonal[n - 1] ?? 0) : values[i]!;
    v = d;
  }
  const max = o.maxPoints ?? 120;
  const all = subsample(timesMs, v, 0, n, max);
  const none = (reason: Forecast['reason'], slope = 0, level = NaN): Forecast => ({ slope, level, crossesAtMs: null, earliestMs: null, latestMs: null, points: all.t.length, reason });
  if (all.t.length < o.minPoints || all.t[all.t.length - 1]! - all.t[0]! < (o.minSpanMs ?? 0)) return none('too_few_points');
  // The recent half, by time.
  const mid = all.t[0]! + (all.t[all.t.length - 1]! - all.t[0]!) / 2;
  let half = 0;
  while (half < all.t.length && all.t[half]! < mid) half++;
  const recent = { t: all.t.slice(half), v: all.v.slice(half) };
  const whole = theilSen(all.t, all.v);
  const r = theilSen(recent.t, recent.v);
  if (!whole || !r || recent.t.length < Math.max(3, Math.floor(o.minPoints / 2))) return none('too_few_points');
  // Level at the last point: the recent line through the median residual of the recent points.
  const last = recent.t[recent.t.length - 1]!;
  const resid = Float64Array.from(recent.t, (x, i) => recent.v[i]! - (r.intercept + r.slope * x)).sort();
  const level = r.intercept + r.slope * last + percentile(resid, 50) + r.slope * (nowMs - last);
  if (!(r.slope > 0) || !(r.q25 > 0)) return none('not_rising', r.slope, level);
  if (!(whole.slope > 0) || r.slope < 0.5 * whole.slope) return none('not_steady', r.slope, level);
  if (level >= threshold) return { slope: r.slope, level, crossesAtMs: nowMs, earliestMs: nowMs, latestMs: nowMs, points: all.t.length, reason: 'already_past' };
  const at = (slope: number): number => nowMs + (threshold - level) / slope;
  return { slope: r.slope, level, crossesAtMs: at(r.slope), earliestMs: at(r.q75), latestMs: at(r.q25), points: all.t.length };
}

/** "3 h 10 m", "42 m", "50 s". */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  if (h < 48) return rest === 0 ? `${h} h` : `${h} h ${rest} m`;
  return `${Math.round(h / 24)} d`;
}
