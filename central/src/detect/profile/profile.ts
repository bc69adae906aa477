// Series profiling for routing between the detection tiers (issue #7, Deliver 1): from a
// series' history (equally spaced values, e.g. its stored 1-minute means), estimate
//   - seasonality: the period (in steps) and its strength, from the autocorrelation of the
//     detrended series (the strongest local maximum, preferring the shortest lag that is nearly
//     as strong, so 2P never wins over P);
//   - trend: the least-squares slope, in noise units per 100 steps;
//   - noise: a robust scale (MAD of first differences / sqrt 2, so a level shift or a season
//     barely moves it);
//   - level shifts: adjacent blocks whose medians differ by more than `shiftSigmas` noise units,
//     per 1,000 steps;
// and route: too little history -> Tier-1 only ("warming up"); seasonal -> Agile (the seasonal
// forecaster) and Robust (decomposition that long anomalies do not drag); otherwise -> Agile,
// which follows level shifts quickly. Every decision carries its reasons, for the anomaly's
// evidence. Non-finite values are gaps: skipped, counted. O(n x maxLag) time, O(n) memory.

import { medianOf } from '../stats.js';

export type Route = 'tier1' | 'agile' | 'robust' | 'both';

export interface ProfileOptions {
  /** Fewer finite values than this: warming up (Tier-1 only). Default 96. */
  minSamples?: number;
  /** Shortest and longest period looked for, in steps. Defaults 4 and n / 3. */
  minPeriod?: number;
  maxPeriod?: number;
  /** Autocorrelation at the period needed to call a series seasonal. Default 0.3. */
  seasonalThreshold?: number;
  /** Block length for level-shift detection, in steps. Default 12. */
  shiftBlock?: number;
  /** A block median this many noise units from the previous one is a shift. Default 6. */
  shiftSigmas?: number;
}

export interface SeriesProfile {
  /** Finite values seen. */
  samples: number;
  /** Non-finite values (gaps), skipped. */
  gaps: number;
  warmingUp: boolean;
  /** Period in steps, when seasonal. */
  period: number | undefined;
  /** Autocorrelation at the period (or the best lag looked at), -1..1. */
  seasonalStrength: number;
  /** Least-squares slope in noise units per 100 steps (0 when the noise is 0). */
  trend: number;
  /** Robust noise scale, in the series' unit. */
  noise: number;
  /** Level shifts per 1,000 steps. */
  shiftRate: number;
  route: Route;
  /** Why, in words (for the anomaly's evidence). */
  reasons: string[];
}

export function profileSeries(values: ArrayLike<number>, o: ProfileOptions = {}): SeriesProfile {
  const n = values.length;
  const minSamples = o.minSamples ?? 96;
  const xs: number[] = [];
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      xs.push(v);
      ts.push(i);
    }
  }
  const samples = xs.length;
  const gaps = n - samples;
  const base = { samples, gaps };
  if (samples < minSamples) {
    return { ...base, warmingUp: true, period: undefined, seasonalStrength: 0, trend: 0, noise: NaN, shiftRate: 0, route: 'tier1', reasons: [`warming up: ${samples} of ${minSamples} samples`] };
  }

  // Noise: MAD of first differences (consecutive finite values) / sqrt(2), scaled to a std.
  const diffs: number[] = [];
  for (let i = 1; i < samples; i++) diffs.push(xs[i]! - xs[i - 1]!);
  const dMed = medianOf(diffs);
  const noise = (1.4826 * medianOf(diffs.map((d) => Math.abs(d - dMed)))) / Math.SQRT2;

  // Trend: least squares over the step index.
  let st = 0;
  let sx = 0;
  for (let i = 0; i < samples; i++) {
    st += ts[i]!;
    sx += xs[i]!;
  }
  const mt = st / samples;
  const mx = sx / samples;
  let stt = 0;
  let stx = 0;
  for (let i = 0; i < samples; i++) {
    stt += (ts[i]! - mt) ** 2;
    stx += (ts[i]! - mt) * (xs[i]! - mx);
  }
  const slope = stt > 0 ? stx / stt : 0;
  const trend = noise > 0 ? (slope * 100) / noise : 0;

  // Autocorrelation of the detrended series on the full grid (gaps contribute nothing).
  const r = new Float64Array(n).fill(NaN);
  for (let i = 0; i < samples; i++) r[ts[i]!] = xs[i]! - (mx + slope * (ts[i]! - mt));
  let var0 = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(r[i]!)) var0 += r[i]! * r[i]!;
  var0 /= samples;
  const minP = Math.max(2, o.minPeriod ?? 4);
  const maxP = Math.min(o.maxPeriod ?? Math.floor(n / 3), Math.floor(n / 2));
  const acf = new Float64Array(maxP + 2);
  if (var0 > 0) {
    for (let k = 1; k <= maxP + 1; k++) {
      let s = 0;
      let c = 0;
      for (let i = k; i < n; i++) {
        const a = r[i]!;
        const b = r[i - k]!;
        if (Number.isNaN(a) || Number.isNaN(b)) continue;
        s += a * b;
        c++;
      }
      acf[k] = c > 0 ? s / c / var0 : 0;
    }
  }
  let best = -1;
  let bestAcf = -Infinity;
  const peaks: number[] = [];
  for (let k = minP; k <= maxP; k++) {
    if (acf[k]! >= acf[k - 1]! && acf[k]! >= acf[k + 1]!) peaks.push(k);
    if (acf[k]! > bestAcf) {
      bestAcf = acf[k]!;
      best = k;
    }
  }
  let peak: number | undefined;
  let peakAcf = -Infinity;
  for (const k of peaks) if (acf[k]! > peakAcf) [peak, peakAcf] = [k, acf[k]!];
  // The shortest local maximum nearly as strong as the strongest: P rather than 2P or 3P.
  if (peak !== undefined) for (const k of peaks) if (acf[k]! >= 0.9 * peakAcf) { peak = k; break; }
  const threshold = o.seasonalThreshold ?? 0.3;
  const seasonal = peak !== undefined && acf[peak]! >= threshold;
  const period = seasonal ? peak : undefined;
  const seasonalStrength = seasonal ? acf[peak!]! : best >= 0 ? Math.max(bestAcf, -1) : 0;

  // Level shifts: medians of consecutive blocks of the detrended (and deseasonalised by
  // whole periods when the block is a multiple of it) values.
  const w = Math.max(2, o.shiftBlock ?? 12, period ?? 0);
  const sig = o.shiftSigmas ?? 6;
  let shifts = 0;
  let prev: number | undefined;
  for (let start = 0; start + w <= n; start += w) {
    const block: number[] = [];
    for (let i = start; i < start + w; i++) if (!Number.isNaN(r[i]!)) block.push(r[i]!);
    if (block.length < w / 2) continue;
    const m = medianOf(block);
    if (prev !== undefined && noise > 0 && Math.abs(m - prev) > sig * noise) shifts++;
    prev = m;
  }
  const shiftRate = (shifts * 1000) / n;

  const reasons: string[] = [];
  let route: Route;
  if (seasonal) {
    route = 'both';
    reasons.push(`seasonal: period ${period} steps, autocorrelation ${seasonalStrength.toFixed(2)} >= ${threshold}: Agile forecasts the season, Robust validates against a decomposition`);
  } else {
    route = 'agile';
    reasons.push(`no seasonality (best autocorrelation ${Number.isFinite(seasonalStrength) ? seasonalStrength.toFixed(2) : '0'} < ${threshold}): Agile only`);
  }
  if (shiftRate > 0) reasons.push(`${shifts} level shift(s) in ${n} steps (${shiftRate.toFixed(1)} per 1,000): the forecaster re-anchors after each`);
  if (Math.abs(trend) >= 1) reasons.push(`trend ${trend.toFixed(1)} noise units per 100 steps`);
  if (gaps > 0) reasons.push(`${gaps} gap(s) skipped`);
  return { ...base, warmingUp: false, period, seasonalStrength, trend, noise, shiftRate, route, reasons };
}
