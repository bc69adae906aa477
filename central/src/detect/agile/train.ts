// Training Tier-2 Agile: the autoregressive and seasonal weights, fitted robustly on training
// series in exactly the units the graph uses (each row's window centred on its median and
// scaled by its MAD), then the calibration point k. Deterministic: the same series and options
// give the same weights, bit for bit (rows are subsampled by a seeded generator, sums run in a
// fixed order).
//
// The fit is iteratively reweighted least squares with Huber weights (a residual beyond 1.345
// robust sigmas counts linearly, not squared: the anomalies a training series still holds pull
// little) and a small ridge penalty (lags that carry nothing stay near 0).
import { mulberry32 } from '../../../../shared-schemas/src/runtime/index.js';
import { fillGaps, quantileOf, seededSubsample } from '../stats.js';
import { agileReference, agileWindow, AGILE_DEFAULTS, checkAgileParams } from './model.js';
import type { AgileParams } from './model.js';

export interface TrainingSeries {
  /** Equally spaced values, oldest first; non-finite values are gaps (carried over). */
  values: Float64Array;
  /** Period in steps, 0 for none. */
  period: number;
}

export interface AgileTrainOptions {
  window?: number;
  order?: number;
  /** Ridge penalty per row. Default 1e-3. */
  lambda?: number;
  /** IRLS iterations. Default 8. */
  iterations?: number;
  /** Most rows used (a seeded subsample beyond). Default 200,000. */
  maxRows?: number;
  /** Quantile of the training rows' r that becomes k. Default 0.95. */
  kQuantile?: number;
  seed?: number;
}

export interface AgileTrainResult {
  params: AgileParams;
  metrics: { rows: number; seasonalRows: number; series: number; mae: number; rmse: number; rQuantiles: Record<string, number> };
}

/** A seeded generator (mulberry32): the same seed, the same subsample. */
export const seededRandom = mulberry32;

interface Row {
  s: number;
  t: number;
  seasonal: boolean;
}

function windows(x: Float64Array, t: number, W: number, P: number, seasonal: boolean): { xw: Float64Array; xs: Float64Array } {
  const xw = x.subarray(t - W + 1, t + 1);
  return { xw, xs: seasonal ? x.subarray(t - P - W + 1, t - P + 1) : xw };
}

/** Solves A w = b (A symmetric positive definite, n x n, row-major) by Gaussian elimination with partial pivoting. */
export function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const M = Float64Array.from(A);
  const y = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]!) > Math.abs(M[piv * n + c]!)) piv = r;
    if (M[piv * n + c] === 0) throw new RangeError('singular system');
    if (piv !== c) {
      for (let k = 0; k < n; k++) [M[c * n + k], M[piv * n + k]] = [M[piv * n + k]!, M[c * n + k]!];
      [y[c], y[piv]] = [y[piv]!, y[c]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c]! / M[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r * n + k]! -= f * M[c * n + k]!;
      y[r]! -= f * y[c]!;
    }
  }
  const w = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = y[r]!;
    for (let k = r + 1; k < n; k++) s -= M[r * n + k]! * w[k]!;
    w[r] = s / M[r * n + r]!;
  }
  return w;
}

export function fitAgile(series: readonly TrainingSeries[], o: AgileTrainOptions = {}): AgileTrainResult {
  const W = o.window ?? AGILE_DEFAULTS.window;
  const P = o.order ?? AGILE_DEFAULTS.order;
  const base: AgileParams = { ...AGILE_DEFAULTS, window: W, order: P, ar: new Array<number>(P).fill(0), sar: new Array<number>(P + 1).fill(0) };
  checkAgileParams(base);
  const xs = series.map((s) => fillGaps(s.values));
  const rows: Row[] = [];
  xs.forEach((x, s) => {
    const per = series[s]!.period;
    for (let t = W - 1; t < x.length; t++) rows.push({ s, t, seasonal: per > 0 && t - per - W + 1 >= 0 });
  });
  if (rows.length < 10 * (2 * P + 2)) throw new RangeError(`too little training data: ${rows.length} rows of ${W} values (need ${10 * (2 * P + 2)})`);
  seededSubsample(rows, o.maxRows ?? 200_000, o.seed ?? 1);
  // Features in z units, as the graph computes them for the newest position.
  const F = 2 * P + 2; // P lags, P+1 seasonal lags, bias
  const X = new Float64Array(rows.length * F);
  const y = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    const { xw, xs: xsw } = windows(xs[r.s]!, r.t, W, series[r.s]!.period, r.seasonal);
    const { z, zs } = agileWindow(base, xw, xsw);
    const o0 = i * F;
    for (let l = 1; l <= P; l++) X[o0 + l - 1] = z[W - 1 - l]!;
    if (r.seasonal) for (let l = 0; l <= P; l++) X[o0 + P + l] = zs[W - 1 - l]!;
    X[o0 + F - 1] = 1;
    y[i] = z[W - 1]!;
  });
  const lambda = (o.lambda ?? 1e-3) * rows.length;
  const weights = new Float64Array(rows.length).fill(1);
  let w: Float64Array = new Float64Array(F);
  const res = new Float64Array(rows.length);
  for (let it = 0; it < (o.iterations ?? 8); it++) {
    const A = new Float64Array(F * F);
    const b = new Float64Array(F);
    for (let i = 0; i < rows.length; i++) {
      const wi = weights[i]!;
      const o0 = i * F;
      for (let a = 0; a < F; a++) {
        const xa = X[o0 + a]! * wi;
        if (xa === 0) continue;
        b[a]! += xa * y[i]!;
        for (let c = a; c < F; c++) A[a * F + c]! += xa * X[o0 + c]!;
      }
    }
    for (let a = 0; a < F; a++) for (let c = 0; c < a; c++) A[a * F + c] = A[c * F + a]!;
    for (let a = 0; a < F - 1; a++) A[a * F + a]! += lambda;
    A[(F - 1) * F + F - 1]! += 1e-9 * rows.length;
    w = solve(A, b, F);
    for (let i = 0; i < rows.length; i++) {
      let p = 0;
      for (let a = 0; a < F; a++) p += X[i * F + a]! * w[a]!;
      res[i] = y[i]! - p;
    }
    const abs = Float64Array.from(res, Math.abs);
    const sigma = Math.max(1.4826 * quantileOf(abs, 0.5), 1e-6);
    const delta = 1.345 * sigma;
    for (let i = 0; i < rows.length; i++) weights[i] = Math.abs(res[i]!) <= delta ? 1 : delta / Math.abs(res[i]!);
  }
  const params: AgileParams = {
    ...base,
    ar: Array.from(w.subarray(0, P)),
    sar: Array.from(w.subarray(P, 2 * P + 1)),
    bias: w[F - 1]!,
  };
  // Calibration: r of the training rows under the fitted model.
  const rs = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    const { xw, xs: xsw } = windows(xs[r.s]!, r.t, W, series[r.s]!.period, r.seasonal);
    rs[i] = agileReference(params, xw, xsw, r.seasonal).r;
  });
  params.k = Math.max(quantileOf(rs, o.kQuantile ?? 0.95), 1e-3);
  checkAgileParams(params);
  let sa = 0;
  let ss = 0;
  for (const e of res) {
    sa += Math.abs(e);
    ss += e * e;
  }
  const rQuantiles: Record<string, number> = {};
  for (const q of [0.5, 0.9, 0.99, 0.995, 0.999]) rQuantiles[String(q)] = quantileOf(rs, q);
  return {
    params,
    metrics: { rows: rows.length, seasonalRows: rows.filter((r) => r.seasonal).length, series: series.length, mae: sa / rows.length, rmse: Math.sqrt(ss / rows.length), rQuantiles },
  };
}
